#!/usr/bin/env bash
# The Debian package: built, inspected (modes, owners, conffiles), installed on this machine,
# its binary run, its unit verified, upgraded and removed without touching the identity.
#
#   Tests/Packaging/deb.sh DEB
set -u
# This test installs and purges a package on the machine: without a package it must do nothing.
[ -f "${1:-}" ] || { echo "usage: deb.sh DEB (a built package; make package-test builds it)" >&2; exit 2; }
DEB=$(readlink -f "$1")
. "$(dirname "$0")/../lib/checks.sh"
if ! dpkg-query -W scep-agent >/dev/null 2>&1 && [ -e /etc/scep-agent.conf ]; then
    echo "deb.sh: /etc/scep-agent.conf exists but the package is not installed (left by an earlier run?);" >&2
    echo "        dpkg would ask about it. Remove it first." >&2
    exit 1
fi

listing=$(dpkg-deb -c "$DEB")
expect_text "the binary is 0755 root" "$listing" "-rwxr-xr-x root/root"
echo "$listing" | grep -q '^-rwxr-xr-x root/root .* ./usr/sbin/scep-agent$' && pass "binary at /usr/sbin/scep-agent" || fail "binary missing"
echo "$listing" | grep -q '^-rw-r--r-- root/root .* ./etc/scep-agent.conf$' && pass "config 0644 root" || fail "config mode"
echo "$listing" | grep -q '^-rw-r--r-- root/root .* ./lib/systemd/system/scep-agent.service$' && pass "unit 0644 root" || fail "unit missing"
echo "$listing" | grep -q 'man8/scep-agent.8.gz$' && pass "man page scep-agent(8)" || fail "man page missing"
echo "$listing" | awk '{ print $1 }' | grep -q '^.\{7\}.w' && fail "a world-writable entry" || pass "nothing world-writable"
[ "$(dpkg-deb -f "$DEB" Package)" = scep-agent ] && pass "control names the package" || fail "control"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles | grep -qx /etc/scep-agent.conf && pass "the config is a conffile" || fail "no conffile"

# Install on this machine (CI machines are disposable; the package only adds a system user).
expect_status "dpkg -i installs it" 0 dpkg -i "$DEB"
expect_status "the installed binary runs" 0 /usr/sbin/scep-agent --version
expect_status "the unit passes systemd-analyze verify" 0 systemd-analyze verify /lib/systemd/system/scep-agent.service
[ "$(stat -c '%a %U' /var/lib/scep-agent)" = "700 scep-agent" ] && pass "keystore directory 0700, owned by scep-agent" \
    || fail "keystore: $(stat -c '%a %U' /var/lib/scep-agent)"
getent passwd scep-agent | grep -q nologin && pass "a system user without a login shell" || fail "user"
expect_status "the agent's user can open its keystore" 1 runuser -u scep-agent -- /usr/sbin/scep-agent status --keystore /var/lib/scep-agent
expect_text "(and finds no identity yet)" "$ERR" "holds no identity yet"

# Upgrade and removal never touch the identity; a changed config survives an upgrade.
printf 'device identity\n' > /var/lib/scep-agent/current
chown scep-agent:scep-agent /var/lib/scep-agent/current
printf '\nlog-level = debug\n' >> /etc/scep-agent.conf
expect_status "reinstall (upgrade) succeeds" 0 dpkg -i --force-confold "$DEB"
grep -q 'log-level = debug' /etc/scep-agent.conf && pass "the local config change survived the upgrade" || fail "config replaced"
[ -f /var/lib/scep-agent/current ] && pass "the upgrade kept the keystore" || fail "the upgrade lost the keystore"
expect_status "dpkg -r removes it" 0 dpkg -r scep-agent
[ -f /var/lib/scep-agent/current ] && pass "remove kept the keystore" || fail "remove lost the keystore"
expect_status "dpkg -P purges it" 0 dpkg -P scep-agent
[ -f /var/lib/scep-agent/current ] && pass "purge kept the identity (documented policy)" || fail "purge lost the identity"
[ ! -e /etc/scep-agent.conf ] && pass "purge removed the config" || fail "config left after purge"
rm -rf /var/lib/scep-agent

if command -v lintian >/dev/null 2>&1; then
    errors=$(lintian --no-tag-display-limit "$DEB" 2>/dev/null | grep -c '^E:')
    [ "$errors" -eq 0 ] && pass "lintian: no errors" || fail "lintian: $errors errors"
else
    echo "# lintian not installed: skipped"
fi
finish
