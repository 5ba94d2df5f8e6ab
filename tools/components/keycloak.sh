#!/usr/bin/env bash
# Keycloak $KEYCLOAK_VERSION from Maven Central (org.keycloak:keycloak-quarkus-dist:<v>:tar.gz).
#
# Layout (flattened): $GOVOPS_CACHE/keycloak-$KEYCLOAK_VERSION/bin/kc.sh, lib/, conf/, providers/ ...
# i.e. the tarball's top directory keycloak-<v>/ is stripped. `.done` is written last.
#
# We also run `kc.sh build` once here with the build-time options the lab launcher uses
# (tools/lab/keycloak.py: health on, dev-file database), so every `start-dev` skips the Quarkus
# augmentation. `start-dev` re-augments only if the options differ, so keep both lists in sync.
set -euo pipefail
: "${KEYCLOAK_VERSION:?source tools/versions.env first (run through tools/bootstrap.sh)}"
: "${GOVOPS_CACHE:=$HOME/.cache/govops}"
dest="$GOVOPS_CACHE/keycloak-$KEYCLOAK_VERSION"
if [ -f "$dest/.done" ] && [ -x "$dest/bin/kc.sh" ]; then
  echo "RESULT keycloak $KEYCLOAK_VERSION cached ($(du -sh "$dest" | cut -f1)) at $dest"
  exit 0
fi
command -v java >/dev/null || { echo "java (17+) is required: install openjdk-17-jre-headless"; exit 1; }
command -v mvn >/dev/null || { echo "maven is required: install maven"; exit 1; }

work="$(mktemp -d "$GOVOPS_CACHE/keycloak-dl.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "downloading org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz from Maven Central"
mvn -B -q dependency:copy \
  -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz" \
  -DoutputDirectory="$work" -Dmdep.overWriteReleases=true
tarball="$work/keycloak-quarkus-dist-$KEYCLOAK_VERSION.tar.gz"
[ -s "$tarball" ] || { echo "download failed: $tarball missing"; exit 1; }
echo "unpacking $(du -h "$tarball" | cut -f1) into $dest"
rm -rf "$dest"
mkdir -p "$dest"
tar -xzf "$tarball" -C "$dest" --strip-components=1
rm -f "$tarball"
[ -x "$dest/bin/kc.sh" ] || { echo "unexpected archive layout: no bin/kc.sh"; exit 1; }

# Pre-augment with the lab's build options (must match tools/lab/keycloak.py BUILD_OPTIONS).
echo "kc.sh build (pre-augmenting for start-dev with health enabled, dev-file db)"
t0=$(date +%s)
"$dest/bin/kc.sh" build --health-enabled=true --db=dev-file
echo "build took $(( $(date +%s) - t0 ))s"

touch "$dest/.done"
echo "RESULT keycloak $KEYCLOAK_VERSION ($(du -sh "$dest" | cut -f1)) at $dest"
