#!/usr/bin/env bash
# kubectl, at the same pinned KUBERNETES_VERSION as the control plane, built from source via the Go
# module proxy into $GOVOPS_CACHE/kubectl-$KUBERNETES_VERSION/bin/kubectl.
#
# Only bench/cloud_tenants.py uses it (its baseline is `kubectl apply -f`); the bench builds it on
# demand if it is missing. It is also in the default `make tools` list, after kubernetes, because
# there it is cheap: same wrapper module as kubernetes.sh (_kubemod.sh), so every module zip but a
# few small ones (kustomize, gettext-go, ...) is cached and ~690 of its ~890 packages are already
# compiled; only ~200 (k8s.io/kubectl/pkg/..., kustomize) are new: ~45-50 s on 2 cores. On its
# own with an empty build cache it takes ~3 min.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/_golib.sh"
source "$here/_kubemod.sh"
: "${KUBERNETES_VERSION:?set in tools/versions.env}"
golib_start kubectl "$KUBERNETES_VERSION"

cd "$WORK"
mkdir -p src out/bin
cd src
kubemod_setup govops.local/kubectl-build

golib_step "go build k8s.io/kubernetes/cmd/kubectl"
go build -trimpath -ldflags "$KUBE_LDFLAGS" -o "$WORK/out/bin/" k8s.io/kubernetes/cmd/kubectl
cp go.mod go.sum "$WORK/out/"   # the exact dependency set, for the record

got=$("$WORK/out/bin/kubectl" version --client -o json 2>&1)
echo "kubectl version --client: $got"
grep -q "\"gitVersion\": \"v$V\"" <<<"$got" || { echo "unexpected version output from kubectl"; exit 1; }
golib_finish
