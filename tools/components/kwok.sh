#!/usr/bin/env bash
# kwok (fake nodes, so Deployments reach Running) built from source via the Go module proxy into
# $GOVOPS_CACHE/kwok-$KWOK_VERSION/bin/kwok. Takes ~3-6 min on 2 cores with cold caches.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/_golib.sh"
: "${KWOK_VERSION:?set in tools/versions.env}"
golib_start kwok "$KWOK_VERSION"
golib_probe sigs.k8s.io/kwok "v$KWOK_VERSION"

mkdir -p "$WORK/out/bin"
cd "$WORK"
# go install pkg@version ignores the current module and GOFLAGS=-mod=mod would be rejected there.
golib_step "go install sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
GOFLAGS=-buildvcs=false GOBIN="$WORK/out/bin" go install -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION" \
  "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
got=$("$WORK/out/bin/kwok" --version 2>&1)
echo "kwok --version: $got"
grep -q "v$KWOK_VERSION" <<<"$got" || { echo "unexpected version output from kwok"; exit 1; }
golib_finish
