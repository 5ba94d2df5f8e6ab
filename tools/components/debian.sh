#!/usr/bin/env bash
# Debian packages: etcd, Prometheus, Alertmanager, PostgreSQL, Chromium, ffmpeg, GStreamer RTSP server.
set -euo pipefail
missing=()
for p in $DEBIAN_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_="sudo"
  $sudo_ apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "RESULT etcd $(dpkg-query -W -f='${Version}' etcd-server), prometheus $(dpkg-query -W -f='${Version}' prometheus), postgresql $(dpkg-query -W -f='${Version}' postgresql), chromium $(dpkg-query -W -f='${Version}' chromium)"
