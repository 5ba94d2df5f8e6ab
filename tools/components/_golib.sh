# Shared helpers of the components built from source through the Go module proxy
# (kubernetes, kwok, pulumi, pulumi-kubernetes). Sourced, never run; not a component itself.
#
# Everything lands under $GOVOPS_CACHE (default ~/.cache/govops), never in the repo:
#   $GOVOPS_CACHE/<component>-<version>/        the finished component; .done is touched last
#   $GOVOPS_CACHE/tmp/<component>-<version>.*/  scratch build dir, moved into place on success
#   $GOVOPS_CACHE/go/mod, $GOVOPS_CACHE/go/build  Go module and build caches (shared by all four
#                                               builds; safe to delete, they only speed up rebuilds)
# A killed build leaves only a scratch dir behind, never a directory with .done.
set -euo pipefail

GOVOPS_CACHE="${GOVOPS_CACHE:-$HOME/.cache/govops}"
export GOVOPS_CACHE
command -v go >/dev/null || { echo "go not found on PATH (need Go >= 1.24)"; exit 1; }

# Go settings: our own caches, the module proxy only (no VCS access on these machines), checksums
# verified against sum.golang.org, the local toolchain (never download another Go).
export GOMODCACHE="${GOVOPS_GOMODCACHE:-$GOVOPS_CACHE/go/mod}"
export GOCACHE="${GOVOPS_GOCACHE:-$GOVOPS_CACHE/go/build}"
export GOPROXY="${GOPROXY:-https://proxy.golang.org}"
export GOTOOLCHAIN=local
export GOFLAGS="-buildvcs=false -mod=mod"
export CGO_ENABLED=0
export GOWORK=off

# golib_start <component> <version>: sets DEST and WORK; prints RESULT and exits 0 if already built.
golib_start() {
  COMPONENT="$1"; VERSION="$2"
  DEST="$GOVOPS_CACHE/$COMPONENT-$VERSION"
  if [ -f "$DEST/.done" ]; then
    echo "cached: $DEST"
    golib_result
    exit 0
  fi
  mkdir -p "$GOVOPS_CACHE/tmp" "$GOMODCACHE" "$GOCACHE"
  WORK="$(mktemp -d "$GOVOPS_CACHE/tmp/$COMPONENT-$VERSION.XXXXXX")"
  trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
  GOLIB_T0=$(date +%s)
  echo "building $COMPONENT $VERSION in $WORK with $(go version)"
  echo "GOPROXY=$GOPROXY GOMODCACHE=$GOMODCACHE GOCACHE=$GOCACHE"
}

# golib_step <text>: a timestamped progress line in the log.
golib_step() { echo "[$(date +%T) +$(( $(date +%s) - ${GOLIB_T0:-$(date +%s)} ))s] $*"; }

# golib_probe <module> <version>: fail early, with a clear message, if the proxy does not serve it.
golib_probe() {
  local url="${GOPROXY%%,*}/$1/@v/$2.info" code
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
  if [ "$code" != "200" ]; then
    echo "the Go module proxy does not serve $1@$2 (HTTP $code for $url); pick another pin in tools/versions.env"
    exit 1
  fi
}

# golib_finish: move $WORK/out into place as $DEST, touch .done last, print RESULT.
golib_finish() {
  rm -rf "$DEST"
  mv "$WORK/out" "$DEST"
  touch "$DEST/.done"
  golib_step "done: $DEST"
  golib_result
}

golib_result() {
  local bins size
  bins=$(cd "$DEST/bin" && ls | tr '\n' ' ')
  size=$(du -sh "$DEST" | cut -f1)
  echo "RESULT $COMPONENT $VERSION: $DEST/bin ($size: ${bins% })"
}
