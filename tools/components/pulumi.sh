#!/usr/bin/env bash
# Pulumi CLI + Python language host built from source via the Go module proxy into
# $GOVOPS_CACHE/pulumi-$PULUMI_VERSION/bin: pulumi, pulumi-language-python, and the Python scripts
# of the official distribution (pulumi-language-python-exec, pulumi-analyzer-policy-python for
# Python policy packs, pulumi-resource-pulumi-python).
# PULUMI_VERSION must equal the pip `pulumi` pin in pyproject.toml.
#
# Route: a throwaway wrapper module that requires github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
# (the CLI, cmd/pulumi) and the Python language host module, which has no tags and so is only
# reachable by the pseudo-version of the release commit (PULUMI_LANGUAGE_PYTHON_PSEUDO). The module
# proxy these machines use serves few of those; PULUMI_VERSION is the newest release for which it
# serves the pkg/v3 zip and the language host zip (see versions.env). The checksum database does not
# know that pseudo-version, so GONOSUMDB skips it for that one module and the script checks the
# module's hash against PULUMI_LANGUAGE_PYTHON_SUM instead. The Python scripts come from the sdk/v3
# module of the same version (python/cmd and python/dist).
#
# How the CLI finds the pieces: it looks for plugins next to its own executable and then on PATH, so
# put this bin dir on PATH. Nothing goes to ~/.pulumi/plugins.
# Takes ~6-10 min on 2 cores with cold caches.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/_golib.sh"
: "${PULUMI_VERSION:?set in tools/versions.env}"
: "${PULUMI_LANGUAGE_PYTHON_PSEUDO:?set in tools/versions.env}"
: "${PULUMI_LANGUAGE_PYTHON_SUM:?set in tools/versions.env}"
golib_start pulumi "$PULUMI_VERSION"

V="$PULUMI_VERSION"
pkg=github.com/pulumi/pulumi/pkg/v3
sdk=github.com/pulumi/pulumi/sdk/v3
host=github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python"
golib_probe "$pkg" "v$V"
golib_probe "$sdk" "v$V"
golib_probe "$host" "$PULUMI_LANGUAGE_PYTHON_PSEUDO"

cd "$WORK"
mkdir -p src out/bin
cd src
golib_gomod "$pkg" "v$V" pkg.go.mod
# The wrapper: pkg's go directive, both modules required, and pkg's clipboard replace (replaces of
# a dependency do not apply to the main module, so pkg/go.mod's is copied here).
{
  echo "module govops.local/pulumi-build"; echo
  grep -E '^go ' pkg.go.mod; echo
  echo "require ("
  echo "	$pkg v$V"
  echo "	$sdk v$V"
  echo "	$host $PULUMI_LANGUAGE_PYTHON_PSEUDO"
  echo ")"; echo
  grep -E '^replace github.com/atotto/clipboard ' pkg.go.mod
} > go.mod
rm pkg.go.mod
grep -q 'atotto/clipboard =>' go.mod || { echo "no atotto/clipboard replace in $pkg v$V go.mod"; exit 1; }
cat go.mod
golib_step "resolving and fetching the dependencies of $pkg/cmd/pulumi and $host"
go list -deps "$pkg/cmd/pulumi" "$host" >/dev/null
golib_sum_check "$host" "$PULUMI_LANGUAGE_PYTHON_PSEUDO" "$PULUMI_LANGUAGE_PYTHON_SUM"
sdkdir=$(golib_moddir "$sdk" "v$V")

vpkg=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
golib_step "go build $pkg/cmd/pulumi and $host (slow)"
go build -trimpath -ldflags "-s -w -X $vpkg=v$V" -o "$WORK/out/bin/" "$pkg/cmd/pulumi" "$host"
install -m 0755 "$sdkdir/python/cmd/pulumi-language-python-exec" "$WORK/out/bin/"
for f in "$sdkdir"/python/dist/*; do
  case "$f" in *.cmd) ;; *) install -m 0755 "$f" "$WORK/out/bin/" ;; esac   # .cmd: Windows only
done
cp go.mod go.sum "$WORK/out/"

got=$("$WORK/out/bin/pulumi" version)
echo "pulumi version: $got"
[ "$got" = "v$V" ] || { echo "unexpected version output from pulumi"; exit 1; }
golib_finish
