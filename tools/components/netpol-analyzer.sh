#!/usr/bin/env bash
# np-guard's netpol-analyzer (the `k8snetpolicy` CLI), built from source via the Go module proxy into
# $GOVOPS_CACHE/netpol-analyzer-$NETPOL_ANALYZER_VERSION/bin/k8snetpolicy. A third-party reading of
# NetworkPolicies: tests/integration/test_cloud_pulumi.py exports the live objects of a real `up` and
# compares its connectivity list with the zone table (issue #16). The proxy refuses this module's
# version list, but serves the zip (and .mod) of the pinned tag. ~6 min on 2 cores with cold caches.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/_golib.sh"
: "${NETPOL_ANALYZER_VERSION:?set in tools/versions.env}"
golib_start netpol-analyzer "$NETPOL_ANALYZER_VERSION"
golib_probe github.com/np-guard/netpol-analyzer "v$NETPOL_ANALYZER_VERSION"

mod=github.com/np-guard/netpol-analyzer
cd "$WORK"
mkdir -p src out/bin
cd src
# A wrapper module that requires the pinned tag, not `go install pkg@version`: that one asks the proxy
# for the module's version list (to look for a deprecation), which the proxy refuses.
golib_gomod "$mod" "v$NETPOL_ANALYZER_VERSION" upstream.go.mod
{
  echo "module govops.local/netpol-analyzer-build"; echo
  grep -E '^go ' upstream.go.mod; echo
  echo "require $mod v$NETPOL_ANALYZER_VERSION"
} > go.mod
rm upstream.go.mod
golib_step "go build $mod/cmd/netpolicy (v$NETPOL_ANALYZER_VERSION)"
# Upstream names the CLI k8snetpolicy; the package directory is cmd/netpolicy.
go build -trimpath -ldflags "-s -w" -o "$WORK/out/bin/k8snetpolicy" "$mod/cmd/netpolicy"
cp go.mod go.sum "$WORK/out/"   # the exact dependency set, for the record
"$WORK/out/bin/k8snetpolicy" list --help | grep -q -- '--dirpath' \
  || { echo "unexpected k8snetpolicy: 'list --help' has no --dirpath"; exit 1; }
golib_finish
