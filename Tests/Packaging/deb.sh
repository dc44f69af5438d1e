#!/usr/bin/env bash
# The Debian package: built, inspected (modes, owners, conffiles), installed on this machine,
# its binary run, its unit verified, upgraded and removed without touching the identity.
#
#   Tests/Packaging/deb.sh DEB [RESPONDER]
#
# With RESPONDER (the project's test responder), the installed agent also enrolls as its own user
# into the packaged keystore and consumes a factory challenge where the board profiles keep it.
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
# Every docs/ page README links to is in the package.
missing=
for link in $(grep -o '](docs/[^)#]*' "$(dirname "$0")/../../README.md" | sed 's/^](//' | sort -u); do
    echo "$listing" | grep -q "\./usr/share/doc/scep-agent/$link\$" || missing="$missing $link"
done
[ -z "$missing" ] && pass "the docs README links to are shipped" || fail "README links to pages not shipped:$missing"
echo "$listing" | awk '{ print $1 }' | grep -q '^.\{7\}.w' && fail "a world-writable entry" || pass "nothing world-writable"
[ "$(dpkg-deb -f "$DEB" Package)" = scep-agent ] && pass "control names the package" || fail "control"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles | grep -qx /etc/scep-agent.conf && pass "the config is a conffile" || fail "no conffile"

# Install on this machine (CI machines are disposable; the package only adds a system user).
expect_status "dpkg -i installs it" 0 dpkg -i "$DEB"
expect_status "the installed binary runs" 0 /usr/sbin/scep-agent --version
expect_status "the unit passes systemd-analyze verify" 0 systemd-analyze verify /lib/systemd/system/scep-agent.service
expect_status "the reload path and service units pass systemd-analyze verify" 0 \
    systemd-analyze verify /lib/systemd/system/scep-agent-reload.path /lib/systemd/system/scep-agent-reload.service
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles | grep -qx /etc/default/scep-agent && pass "/etc/default/scep-agent is a conffile" \
    || fail "/etc/default/scep-agent is not a conffile"
[ "$(stat -c '%a %U' /var/lib/scep-agent)" = "700 scep-agent" ] && pass "keystore directory 0700, owned by scep-agent" \
    || fail "keystore: $(stat -c '%a %U' /var/lib/scep-agent)"
getent passwd scep-agent | grep -q nologin && pass "a system user without a login shell" || fail "user"
[ "$(stat -c '%a %U' /etc/scep-agent)" = "750 root" ] && pass "/etc/scep-agent is root's, 0750" \
    || fail "/etc/scep-agent: $(stat -c '%a %U' /etc/scep-agent)"
# Its user cannot add, rename or replace anything there (a symlink where postinst expects a
# directory would be followed by the next upgrade's `install -d`, as root).
runuser -u scep-agent -- sh -c 'ln -s /etc/systemd /etc/scep-agent/x || mv /etc/scep-agent/published /etc/scep-agent/p2' 2>/dev/null \
    && fail "the agent's user can change /etc/scep-agent" || pass "the agent's user cannot change /etc/scep-agent"
[ "$(stat -c '%a %U' /etc/scep-agent/factory)" = "700 scep-agent" ] && pass "factory/ (the challenge) is the agent's, 0700" \
    || fail "factory/: $(stat -c '%a %U' /etc/scep-agent/factory 2>&1)"
expect_status "the agent's user can open its keystore" 1 runuser -u scep-agent -- /usr/sbin/scep-agent status --keystore /var/lib/scep-agent
expect_text "(and finds no identity yet)" "$ERR" "holds no identity yet"

# The factory challenge where the board profiles keep it (/etc/scep-agent/factory/challenge, owned
# by the agent's user), consumed by the agent running as that user: the package's directory modes
# and the unit's writable paths must both allow it, or --consume-challenge fails on every device.
grep -Eq '^ReadWritePaths=.*(^| )-?/etc/scep-agent/factory( |$)' /lib/systemd/system/scep-agent.service \
    && pass "the unit lets the agent write /etc/scep-agent/factory (the challenge)" || fail "the unit keeps the challenge read-only"
if [ -n "${2:-}" ]; then
    RESPONDER=$(readlink -f "$2")
    mkdir -p "$SCRATCH/responder"
    PORT=$(test_port_base)
    if launch_responder "$SCRATCH/responder/out" --port "$PORT" --fault none --state "$SCRATCH/responder"; then
        printf 's3cret\n' > /etc/scep-agent/factory/challenge
        chown scep-agent:scep-agent /etc/scep-agent/factory/challenge
        chmod 600 /etc/scep-agent/factory/challenge
        expect_status "the agent's user enrolls into the packaged keystore" 0 runuser -u scep-agent -- \
            /usr/sbin/scep-agent enroll --url "http://127.0.0.1:$PORT/scep" --ca-fingerprint "$(cat "$SCRATCH/responder/ca.sha256")" \
            --subject CN=deb-0001 --keystore /var/lib/scep-agent --challenge-file /etc/scep-agent/factory/challenge --consume-challenge
        [ ! -e /etc/scep-agent/factory/challenge ] && pass "it consumed the factory challenge" || fail "the challenge is still there: $ERR"
        expect_status "status shows the identity" 0 runuser -u scep-agent -- /usr/sbin/scep-agent status --keystore /var/lib/scep-agent
        # The sysvinit script never signals a stranger holding a recycled pid (start-stop-daemon --exec).
        sleep 300 &
        stranger=$!
        echo "$stranger" > /var/run/scep-agent.pid
        /etc/init.d/scep-agent stop >/dev/null 2>&1
        kill -0 "$stranger" 2>/dev/null && pass "init script stop leaves a process that reuses the agent's pid alone" \
            || fail "init script stop killed an unrelated process"
        kill "$stranger" 2>/dev/null; wait "$stranger" 2>/dev/null
        kill "$LAUNCHED_PID" 2>/dev/null
        rm -rf /var/lib/scep-agent/* /etc/scep-agent/factory/challenge /var/run/scep-agent.pid
    else
        fail "the test responder did not start"
    fi
fi

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
