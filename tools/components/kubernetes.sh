#!/usr/bin/env bash
# kube-apiserver, kube-controller-manager, kube-scheduler and kubelet built from source via the Go
# module proxy into $GOVOPS_CACHE/kubernetes-$KUBERNETES_VERSION/bin (no GitHub, no release tarballs).
# One `go build` for all four: the kubelet shares most packages with the others, so it adds minutes
# (alone it took 13 min). A cache built before the kubelet joined builds only the kubelet.
#
# Route: see _kubemod.sh (a wrapper module requiring k8s.io/kubernetes, staging modules replaced by
# their published v0.X.Y). Keep KUBERNETES_VERSION <= 1.34: the tests run Debian's etcd 3.4.23.
# Takes ~17 min on 2 cores with cold caches.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/_golib.sh"
source "$here/_kubemod.sh"
: "${KUBERNETES_VERSION:?set in tools/versions.env}"
cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet)
golib_start kubernetes "$KUBERNETES_VERSION" "${cmds[@]}"

cd "$WORK"
mkdir -p src out/bin
cd src
kubemod_setup govops.local/kubernetes-build

build=("${GOLIB_MISSING[@]}")
golib_step "go build ${build[*]} (slow: fetches the large k8s.io/kubernetes zip, then several thousand packages)"
go build -trimpath -ldflags "$KUBE_LDFLAGS" -o "$WORK/out/bin/" "${build[@]/#/k8s.io/kubernetes/cmd/}"
cp go.mod go.sum "$WORK/out/"   # the exact dependency set, for the record

for c in "${cmds[@]}"; do
  got=$("$WORK/out/bin/$c" --version 2>&1)
  echo "$c --version: $got"
  [ "$got" = "Kubernetes v$V" ] || { echo "unexpected version output from $c"; exit 1; }
done
golib_finish
