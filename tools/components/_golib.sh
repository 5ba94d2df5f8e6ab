# Shared helpers of the components built from source through the Go module proxy
# (kubernetes, kubectl, kwok, pulumi, pulumi-kubernetes). Sourced, never run; not a component itself.
#
# Everything lands under $GOVOPS_CACHE (default ~/.cache/govops), never in the repo:
#   $GOVOPS_CACHE/<component>-<version>/        the finished component; .done is touched last
#   $GOVOPS_CACHE/tmp/<component>-<version>.*/  scratch build dir, moved into place on success
#   $GOVOPS_CACHE/go/mod, $GOVOPS_CACHE/go/build  Go module and build caches, shared by all five
#       builds (~11 GB once all are built). Only a build reads them; a finished component never
#       does, so they can go once everything is built:
#       GOMODCACHE=$GOVOPS_CACHE/go/mod go clean -modcache; rm -rf "$GOVOPS_CACHE/go"
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

# golib_start <component> <version> [binary ...]: sets DEST and WORK; prints RESULT and exits 0 if
# already built. With binaries named, a finished cache that lacks some of them is not finished: the
# build goes on and GOLIB_MISSING lists what to build (GOLIB_KEEP: the cached ones, copied into
# $WORK/out/bin so the finished dir holds all of them). That lets a component grow a binary (the
# kubelet joined the control-plane build) without rebuilding a warm cache from scratch.
golib_start() {
  COMPONENT="$1"; VERSION="$2"; shift 2
  DEST="$GOVOPS_CACHE/$COMPONENT-$VERSION"
  GOLIB_MISSING=("$@"); GOLIB_KEEP=()
  if [ -f "$DEST/.done" ]; then
    GOLIB_MISSING=()
    local b
    for b in "$@"; do
      if [ -x "$DEST/bin/$b" ]; then GOLIB_KEEP+=("$b"); else GOLIB_MISSING+=("$b"); fi
    done
    if [ ${#GOLIB_MISSING[@]} -eq 0 ]; then
      echo "cached: $DEST"
      golib_result
      exit 0
    fi
    echo "cached: $DEST lacks ${GOLIB_MISSING[*]}: building only those"
  fi
  mkdir -p "$GOVOPS_CACHE/tmp" "$GOMODCACHE" "$GOCACHE"
  WORK="$(mktemp -d "$GOVOPS_CACHE/tmp/$COMPONENT-$VERSION.XXXXXX")"
  trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
  GOLIB_T0=$(date +%s)
  echo "building $COMPONENT $VERSION in $WORK with $(go version)"
  echo "GOPROXY=$GOPROXY GOMODCACHE=$GOMODCACHE GOCACHE=$GOCACHE"
  if [ ${#GOLIB_KEEP[@]} -gt 0 ]; then
    mkdir -p "$WORK/out/bin"
    for b in "${GOLIB_KEEP[@]}"; do cp -a "$DEST/bin/$b" "$WORK/out/bin/"; done
  fi
}

# golib_step <text>: a timestamped progress line in the log.
golib_step() { echo "[$(date +%T) +$(( $(date +%s) - ${GOLIB_T0:-$(date +%s)} ))s] $*"; }

# golib_probe <module> <version>: fail early, with a clear message, if the proxy does not serve the
# module's zip. (The proxy these machines use answers per file: a version's .info may be refused
# while its .mod and .zip are served, and the go command needs .info only to resolve queries and for
# `go mod download`; a build whose go.mod names exact versions does not ask for it.)
golib_probe() {
  local url="${GOPROXY%%,*}/$1/@v/$2.zip" code
  code=$(curl -s -o /dev/null -r 0-0 -w '%{http_code}' "$url" || true)
  if [ "$code" != "200" ] && [ "$code" != "206" ]; then
    echo "the Go module proxy does not serve $1@$2 (HTTP $code for $url); pick another pin in tools/versions.env"
    exit 1
  fi
}

# golib_gomod <module> <version> <file>: the module's go.mod, straight from the proxy.
golib_gomod() {
  local url="${GOPROXY%%,*}/$1/@v/$2.mod"
  curl -sfS -o "$3" "$url" || { echo "cannot fetch $url"; exit 1; }
  grep -q '^module ' "$3" || { echo "not a go.mod: $url"; exit 1; }
}

# golib_sum_check <module> <version> <expected h1:...>: compare the hash that the build recorded in
# go.sum with the pin, for modules that the checksum database does not know (see GONOSUMDB).
golib_sum_check() {
  local got
  got=$(awk -v m="$1" -v v="$2" '$1==m && $2==v {print $3}' go.sum)
  if [ "$got" != "$3" ]; then
    echo "checksum mismatch for $1@$2: go.sum has '${got}', tools/versions.env pins '$3'"
    exit 1
  fi
  echo "checksum ok: $1@$2 $got"
}

# golib_moddir <module> <version>: the module's directory in the module cache (after a download).
golib_moddir() {
  local esc
  esc=$(sed 's/[A-Z]/!\L&/g' <<<"$1")
  echo "$GOMODCACHE/$esc@$2"
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
