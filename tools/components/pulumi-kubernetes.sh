#!/usr/bin/env bash
# pulumi-resource-kubernetes (the Kubernetes resource provider plugin) built from source via the Go
# module proxy into $GOVOPS_CACHE/pulumi-kubernetes-$PULUMI_KUBERNETES_VERSION/bin.
# PULUMI_KUBERNETES_VERSION must equal the pip `pulumi-kubernetes` pin in pyproject.toml.
#
# Route: the provider module github.com/pulumi/pulumi-kubernetes/provider/v4 has no tags of its own,
# so it is fetched by pseudo-version (PULUMI_KUBERNETES_PROVIDER_PSEUDO). The proxy these machines use
# serves none of the release commits; it serves f47bc2d6f199 (2026-01-15), the last commit before
# the v4.25.0 tag that it has (its schema is the one of the 4.24.1/4.25.0 SDKs). The checksum
# database does not know that pseudo-version, so GONOSUMDB skips it for that one module and the
# script checks the module hash against PULUMI_KUBERNETES_PROVIDER_SUM instead.
# The module is copied to a scratch dir and built there as the main module:
#   - its go.mod replaces the Go SDK with ../sdk (the repo checkout); that is swapped for
#     github.com/pulumi/pulumi-kubernetes/sdk/v4 v$PULUMI_KUBERNETES_VERSION from the proxy;
#   - schema-embed.json and terraform-mapping-embed.json are generated (go run generate.go), as the
#     upstream Makefile does; they are not in the module zip.
#
# How the Pulumi CLI finds it: as an "ambient" plugin on PATH (any pulumi-resource-<name> found on
# PATH is used, unless PULUMI_IGNORE_AMBIENT_PLUGINS is set). Put this bin dir on PATH next to the
# pulumi one; ~/.pulumi/plugins is not used, so nothing is installed there. The CLI then warns
# "using pulumi-resource-kubernetes from $PATH" on every run; a caller that wants a quiet run installs
# the binary into its PULUMI_HOME instead (a 160 MB copy):
#   pulumi plugin install resource kubernetes $PULUMI_KUBERNETES_VERSION --file <bin>/pulumi-resource-kubernetes
# Takes ~30 min on 2 cores with cold caches (the generated Go SDK it imports is huge).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/_golib.sh"
: "${PULUMI_KUBERNETES_VERSION:?set in tools/versions.env}"
: "${PULUMI_KUBERNETES_PROVIDER_PSEUDO:?set in tools/versions.env}"
: "${PULUMI_KUBERNETES_PROVIDER_SUM:?set in tools/versions.env}"
golib_start pulumi-kubernetes "$PULUMI_KUBERNETES_VERSION"

V="$PULUMI_KUBERNETES_VERSION"
prov=github.com/pulumi/pulumi-kubernetes/provider/v4
sdk=github.com/pulumi/pulumi-kubernetes/sdk/v4
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi/pulumi-kubernetes/provider"
golib_probe "$prov" "$PULUMI_KUBERNETES_PROVIDER_PSEUDO"
golib_probe "$sdk" "v$V"

cd "$WORK"
mkdir -p dl out/bin
(cd dl && printf 'module govops.local/dl\n\ngo 1.24\n' > go.mod)
golib_step "fetching $prov $PULUMI_KUBERNETES_PROVIDER_PSEUDO"
json=$(cd dl && go mod download -json "$prov@$PULUMI_KUBERNETES_PROVIDER_PSEUDO") || {
  echo "go mod download failed: $(jq -r .Error <<<"$json")"; exit 1; }
moddir=$(jq -r .Dir <<<"$json"); modsum=$(jq -r .Sum <<<"$json")
if [ "$modsum" != "$PULUMI_KUBERNETES_PROVIDER_SUM" ]; then
  echo "checksum mismatch for $prov@$PULUMI_KUBERNETES_PROVIDER_PSEUDO: got $modsum, want $PULUMI_KUBERNETES_PROVIDER_SUM"
  exit 1
fi
cp -r "$moddir" src
chmod -R u+w src
cd src
go mod edit -dropreplace="$sdk" -require="$sdk@v$V"
golib_step "generating schema-embed.json and terraform-mapping-embed.json"
(cd cmd/pulumi-resource-kubernetes && VERSION="$V" go run generate.go)
golib_step "go build $prov/cmd/pulumi-resource-kubernetes (slow)"
go build -trimpath -ldflags "-s -w -X $prov/pkg/version.Version=$V" \
  -o "$WORK/out/bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
cp go.mod go.sum "$WORK/out/"

# A provider plugin started with no arguments serves gRPC and prints its port on stdout.
golib_step "smoke test: start the provider, read its port"
"$WORK/out/bin/pulumi-resource-kubernetes" > "$WORK/port" 2>"$WORK/provider.err" &
pid=$!
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.2; done
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
port=$(head -1 "$WORK/port" | tr -d '[:space:]')
echo "provider listened on port: $port"
[[ "$port" =~ ^[0-9]+$ ]] || { echo "provider printed no port"; cat "$WORK/provider.err"; exit 1; }
golib_finish
