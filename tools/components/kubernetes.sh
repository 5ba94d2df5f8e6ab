#!/usr/bin/env bash
# kube-apiserver, kube-controller-manager, kube-scheduler built from source via the Go module proxy
# into $GOVOPS_CACHE/kubernetes-$KUBERNETES_VERSION/bin (no GitHub, no release tarballs).
#
# Route: a throwaway wrapper module that requires k8s.io/kubernetes v1.X.Y and replaces every
# k8s.io/* staging module it requires (k8s.io/kubernetes's own go.mod points them at
# ./staging/src/..., which a dependency cannot use) with the published v0.X.Y of the same patch.
# Keep KUBERNETES_VERSION <= 1.34: the tests run Debian's etcd 3.4.23.
# Takes ~17 min on 2 cores with cold caches.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/_golib.sh"
: "${KUBERNETES_VERSION:?set in tools/versions.env}"
golib_start kubernetes "$KUBERNETES_VERSION"

V="$KUBERNETES_VERSION"
major="${V%%.*}"; rest="${V#*.}"; minor="${rest%%.*}"; patch="${rest#*.}"
staging_version="v0.$minor.$patch"
golib_probe k8s.io/kubernetes "v$V"
golib_probe k8s.io/api "$staging_version"

cd "$WORK"
mkdir -p src out/bin
cd src
golib_gomod k8s.io/kubernetes "v$V" "$WORK/kubernetes.go.mod"
gomod="$WORK/kubernetes.go.mod"
# Copy the go / godebug lines so the binaries get the same GODEBUG defaults as an upstream build.
{
  echo "module govops.local/kubernetes-build"; echo
  grep -E '^(go|godebug) ' "$gomod"; echo
  echo "require k8s.io/kubernetes v$V"
} > go.mod
# Staging modules: the `k8s.io/x => ./staging/src/k8s.io/x` replaces that are also required.
required=$(awk '/^require \(/{r=1;next} r&&/^\)/{r=0} r{print $1}' "$gomod" | sort -u)
n=0
for m in $(grep -E '=> \./staging/src/' "$gomod" | awk '{print $1}'); do
  if grep -qxF "$m" <<<"$required"; then
    go mod edit -replace="$m=$m@$staging_version"
    n=$((n + 1))
  fi
done
golib_step "replaced $n staging modules with $staging_version"

ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=v$V -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
done
cmds=(kube-apiserver kube-controller-manager kube-scheduler)
golib_step "go build ${cmds[*]} (slow: fetches the large k8s.io/kubernetes zip, then several thousand packages)"
go build -trimpath -ldflags "$ldflags" -o "$WORK/out/bin/" "${cmds[@]/#/k8s.io/kubernetes/cmd/}"
cp go.mod go.sum "$WORK/out/"   # the exact dependency set, for the record

for c in "${cmds[@]}"; do
  got=$("$WORK/out/bin/$c" --version 2>&1)
  echo "$c --version: $got"
  [ "$got" = "Kubernetes v$V" ] || { echo "unexpected version output from $c"; exit 1; }
done
golib_finish
