#!/usr/bin/env bash
# Keycloak $KEYCLOAK_VERSION from Maven Central (org.keycloak:keycloak-quarkus-dist:<v>:tar.gz).
#
# Layout (flattened): $GOVOPS_CACHE/keycloak-$KEYCLOAK_VERSION/bin/kc.sh, lib/, conf/, providers/ ...
# i.e. the tarball's top directory keycloak-<v>/ is stripped. `.done` is written last.
#
# Priming: `kc.sh start-dev` re-augments Quarkus (~30 s, and it rewrites lib/quarkus/ of the
# shared distribution) whenever its build-time options (`kc.sh build --help-all` lists them:
# db, features, health/metrics, https-client-auth ...) differ from the persisted ones. `kc.sh
# build` cannot produce a dev-profile build ("You can not 'build' the server in development
# mode"), so we prime by running start-dev once with the lab's build options until it is healthy,
# then stop it. Later starts with the same options skip the augmentation. The options used are
# recorded in .primed; tools/lab/keycloak.py BUILD_OPTIONS must equal them (it refuses to start
# otherwise, so a stale cache cannot be re-augmented in place by parallel test sessions).
set -euo pipefail
: "${KEYCLOAK_VERSION:?source tools/versions.env first (run through tools/bootstrap.sh)}"
: "${GOVOPS_CACHE:=$HOME/.cache/govops}"
BUILD_OPTIONS=(--health-enabled=true --metrics-enabled=true --db=dev-file --https-client-auth=request)
dest="$GOVOPS_CACHE/keycloak-$KEYCLOAK_VERSION"
if [ -f "$dest/.done" ] && [ -x "$dest/bin/kc.sh" ] && [ "$(cat "$dest/.primed" 2>/dev/null)" = "${BUILD_OPTIONS[*]}" ]; then
  echo "RESULT keycloak $KEYCLOAK_VERSION cached ($(du -sh "$dest" | cut -f1)) at $dest"
  exit 0
fi
reuse=""
if [ -f "$dest/.done" ] && [ -x "$dest/bin/kc.sh" ]; then
  reuse=1  # unpacked earlier, primed with other options: prime again, no download
  rm -f "$dest/.done" "$dest/.primed"
fi
command -v java >/dev/null || { echo "java (17+) is required: install openjdk-17-jre-headless"; exit 1; }
command -v mvn >/dev/null || { echo "maven is required: install maven"; exit 1; }

mkdir -p "$GOVOPS_CACHE"
work="$(mktemp -d "$GOVOPS_CACHE/keycloak-tmp.XXXXXX")"
kc_pid=""
cleanup() {
  if [ -n "$kc_pid" ] && kill -0 "$kc_pid" 2>/dev/null; then kill -TERM -- "-$kc_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$reuse" ]; then
echo "downloading org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz from Maven Central"
mvn -B -q dependency:copy \
  -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz" \
  -DoutputDirectory="$work" -Dmdep.overWriteReleases=true
# The tarball also landed in the local Maven repository; our cache is the one copy we keep.
rm -rf "${MAVEN_REPO:-$HOME/.m2/repository}/org/keycloak/keycloak-quarkus-dist/$KEYCLOAK_VERSION"
tarball="$work/keycloak-quarkus-dist-$KEYCLOAK_VERSION.tar.gz"
[ -s "$tarball" ] || { echo "download failed: $tarball missing"; exit 1; }
echo "unpacking $(du -h "$tarball" | cut -f1) into $dest"
rm -rf "$dest"
mkdir -p "$dest"
tar -xzf "$tarball" -C "$dest" --strip-components=1
rm -f "$tarball"
[ -x "$dest/bin/kc.sh" ] || { echo "unexpected archive layout: no bin/kc.sh"; exit 1; }
else
  echo "re-priming $dest for build options: ${BUILD_OPTIONS[*]}"
fi

# Prime: one start-dev with the lab build options (augments once), wait until healthy, stop.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port=$(free_port); mgmt_port=$(free_port)
prime="$work/prime"; mkdir -p "$prime/tmp"
echo "priming: kc.sh start-dev ${BUILD_OPTIONS[*]} on 127.0.0.1:$http_port (log $prime/kc.log)"
t0=$(date +%s)
KC_BOOTSTRAP_ADMIN_USERNAME=prime KC_BOOTSTRAP_ADMIN_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" \
JAVA_OPTS_KC_HEAP="-Xms64m -Xmx768m -XX:TieredStopAtLevel=1" \
JAVA_OPTS_APPEND="-Dkc.db-url-path=$prime -Dquarkus.transaction-manager.object-store.directory=$prime/tx -Djava.io.tmpdir=$prime/tmp" \
  setsid "$dest/bin/kc.sh" start-dev "${BUILD_OPTIONS[@]}" --http-host=127.0.0.1 --http-port="$http_port" \
  --http-management-port="$mgmt_port" --http-management-scheme=http >"$prime/kc.log" 2>&1 &
kc_pid=$!
healthy=""
for _ in $(seq 1 300); do
  if ! kill -0 "$kc_pid" 2>/dev/null; then break; fi
  if curl -fsS "http://127.0.0.1:$mgmt_port/health/ready" 2>/dev/null | grep -q '"UP"'; then healthy=1; break; fi
  sleep 1
done
if [ -z "$healthy" ]; then
  echo "priming start-dev did not become healthy; last log lines:"; tail -n 30 "$prime/kc.log"; exit 1
fi
primed=$(( $(date +%s) - t0 ))
grep -q "Updating the configuration" "$prime/kc.log" && echo "augmented during priming"
kill -TERM -- "-$kc_pid"; wait "$kc_pid" 2>/dev/null || true; kc_pid=""
echo "primed in ${primed}s"

echo "${BUILD_OPTIONS[*]}" > "$dest/.primed"
touch "$dest/.done"
echo "RESULT keycloak $KEYCLOAK_VERSION ($(du -sh "$dest" | cut -f1), primed start-dev in ${primed}s) at $dest"
