#!/usr/bin/env bash
# Disposable cluster hosts for the Ansible tests: one Debian bookworm minbase root, debootstrapped once and cached;
# each test target is an overlay clone of it booted with systemd-nspawn inside a network namespace the test makes.
# The root is keyed by TARGETS_REVISION (bump it when the package list changes).
set -euo pipefail
: "${GOVOPS_CACHE:?}" "${TARGETS_REVISION:?}"
dest="$GOVOPS_CACHE/targets-bookworm-$TARGETS_REVISION"
if [ -f "$dest/.complete" ]; then echo "RESULT cached $dest"; exit 0; fi
mirror="${GOVOPS_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}"
mirror="${mirror:-http://deb.debian.org/debian}"
for tool in debootstrap systemd-nspawn socat nc; do
  command -v "$tool" >/dev/null || { echo "missing $tool: the debian component installs it (make tools)"; exit 1; }
done
rm -rf "$dest.partial"; mkdir -p "$dest.partial"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,openssh-server,python3,python3-apt,sudo,iproute2,ca-certificates,libpam-pwquality,procps,chrony,auditd,rsyslog,logrotate,cracklib-runtime,containerd,runc,iptables,kmod \
  bookworm "$dest.partial/root" "$mirror"
root="$dest.partial/root"
# The targets' apt reaches the mirror through a relay the test starts on the hub (see tools/lab/targets.py).
echo "deb http://apt-relay/debian bookworm main" > "$root/etc/apt/sources.list"
rm -f "$root"/etc/apt/sources.list.d/*.sources
# Ansible logs in as root with the lab key the launcher writes per run; sshd must accept keys only.
mkdir -p "$root/root/.ssh"; chmod 700 "$root/root/.ssh"
rm -f "$root"/etc/ssh/ssh_host_*  # each clone gets its own host keys at first boot
chroot "$root" systemctl enable ssh.service >/dev/null 2>&1 || true
# regenerate host keys on boot when missing
cat > "$root/etc/systemd/system/ssh-keygen.service" <<'UNIT'
[Unit]
Description=Generate SSH host keys on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable ssh-keygen.service >/dev/null 2>&1
# services that have no business starting in a throwaway target
for unit in containerd.service chrony.service auditd.service; do chroot "$root" systemctl disable "$unit" >/dev/null 2>&1 || true; done
apt_clean() { rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*; }
apt_clean
touch "$dest.partial/.complete"
rm -rf "$dest"; mv "$dest.partial" "$dest"
echo "RESULT bookworm minbase $(du -sh "$dest/root" | cut -f1) at $dest"
