#!/bin/sh
# Runs inside the booted Debian system (Tests/System/run.sh), as a systemd service started at
# boot, and reports on the serial console: "SYSTEM ok NAME", "SYSTEM FAIL NAME: DETAIL", and
# "SYSTEM phase N done" before it powers the machine off. The machine has no network but its own
# loopback. The SCEP server there is the project's Python oracle (Tests/Oracle: asn1crypto and
# pyca/cryptography, no code shared with the agent), because it issues certificates of minutes:
# micromdm's last at least a day, and the agent's jitter is a tenth of the renewal window.
#
# Phase 1 (first boot): install the package, deliver the factory challenge the way docs/daemon.md
# says, enable the unit, enroll, renew short certificates, reload a consumer through the path
# unit, restart. Phase 2 (after a reboot): the identity survived; purge. Phase 3 (a third boot,
# with a TPM 2.0: swtpm on the host): the package again, with tpm-udev, and the shipped TPM
# drop-in (Packaging/systemd/tpm.conf): without it the unit cannot reach the TPM and says so, the
# identity staying in service; with it, the identity renews into a key made in the TPM.
exec >/dev/ttyS0 2>&1
ok() { echo "SYSTEM ok $*"; }
bad() { echo "SYSTEM FAIL $*"; }
check() { # NAME COMMAND...
    name=$1
    shift
    if "$@" >/tmp/check.out 2>&1; then ok "$name"; else bad "$name: $(tail -n 3 /tmp/check.out | tr '\n' ' ')"; fi
}
wait_for() { # SECONDS COMMAND...: polls once a second
    limit=$1
    shift
    i=0
    while [ "$i" -lt "$limit" ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
        i=$((i + 1))
    done
    return 1
}
# status as the agent's user: the keystore is its own, and the agent refuses one owned by another
# user, root included.
status() { runuser -u scep-agent -- scep-agent status --keystore /var/lib/scep-agent "$@"; }
serial() { status 2>/dev/null | sed -n 's/^serial=//p'; }
main_pid() { systemctl show -p MainPID --value scep-agent.service; }
finish_phase() {
    echo "SYSTEM phase $1 done"
    systemctl poweroff
    exit 0
}

# 10-minute certificates; the oracle keeps its CA in /srv/scep across the reboot.
mkdir -p /srv/scep/state
systemd-run --unit=test-scep-server --quiet /usr/bin/python3 /srv/scep/scep_oracle.py --port 8080 --state /srv/scep/state \
    --lifetime 600 --challenge factory-secret
wait_for 60 test -s /srv/scep/state/ca.sha256 && wait_for 30 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' \
    || bad "the SCEP server starts in the machine: $(journalctl -u test-scep-server --no-pager | tail -n 3 | tr '\n' ' ')"
FP=$(cat /srv/scep/state/ca.sha256)
PHASE=$(cat /root/phase 2>/dev/null || echo 1)
echo "SYSTEM phase $PHASE: $(uname -r), $(systemctl --version | head -1)"

if [ "$PHASE" = 1 ]; then
    check "the package installs with dpkg -i" dpkg -i /root/scep-agent.deb
    check "the units pass systemd-analyze verify" systemd-analyze verify --man=no /lib/systemd/system/scep-agent.service \
        /lib/systemd/system/scep-agent-reload.path /lib/systemd/system/scep-agent-reload.service
    cat > /etc/scep-agent.conf <<CONF
url = http://127.0.0.1:8080/scep
ca-fingerprint = $FP
subject = CN=booted-0042,O=Acme
challenge-file = /etc/scep-agent/factory/challenge
consume-challenge = yes
keystore = /var/lib/scep-agent
cert-out = /etc/scep-agent/published/cert.pem
bundle-out = /etc/scep-agent/published/bundle.pem
publish-group = scep-agent
publish-mode = 0640
key-mode = 0640
retry-min = 5s
# 10-minute certificates, renewed when 95% of their life remains: every 30 to 90 s.
renew-before = 95%
CONF
    # The factory challenge, as docs/daemon.md says: in /etc/scep-agent/factory/, the agent's, 0600.
    printf 'factory-secret\n' > /etc/scep-agent/factory/challenge
    chown scep-agent:scep-agent /etc/scep-agent/factory/challenge
    chmod 600 /etc/scep-agent/factory/challenge
    # A consumer of the published identity, reloaded through scep-agent-reload.path.
    cat > /etc/systemd/system/demo-consumer.service <<'UNIT'
[Service]
Type=exec
ExecStart=/bin/sleep infinity
ExecReload=/bin/sh -c 'date +%%s >> /root/reloads'
UNIT
    echo 'SCEP_AGENT_RELOAD_UNITS="demo-consumer.service"' > /etc/default/scep-agent
    systemctl daemon-reload
    systemctl start demo-consumer.service
    check "scep-agent-reload.path enables and starts" systemctl enable --now scep-agent-reload.path
    check "scep-agent.service enables and starts" systemctl enable --now scep-agent.service

    check "first boot: the unit enrolled (published certificate within 300 s)" wait_for 300 test -s /etc/scep-agent/published/cert.pem
    check "the published certificate verifies against the CA" openssl verify -CAfile /srv/scep/state/ca.pem \
        /etc/scep-agent/published/cert.pem
    check "the factory challenge was consumed" test ! -e /etc/scep-agent/factory/challenge
    check "the bundle is the agent's user's and its group's, 0640 (publish-group under the unit)" \
        sh -c '[ "$(stat -c "%U %G %a" /etc/scep-agent/published/bundle.pem)" = "scep-agent scep-agent 640" ]'
    pid=$(main_pid)
    check "the agent runs as scep-agent" sh -c "[ \"\$(ps -o user= -p $pid)\" = scep-agent ]"
    check "the agent has no_new_privs and a seccomp filter (the unit's)" sh -c \
        "grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$pid/status && grep -q '^Seccomp:[[:space:]]*2' /proc/$pid/status"
    check "no core dumps: the unit's LimitCORE=0" sh -c '[ "$(systemctl show -p LimitCORE --value scep-agent.service)" = 0 ]'
    check "the unit's syscall filter keeps fchown and drops setuid and setrlimit" sh -c \
        'f=" $(systemctl show -p SystemCallFilter --value scep-agent.service) "; case "$f" in *" fchown "*) ;; *) exit 1;; esac; case "$f" in *" setuid "*|*" setrlimit "*) exit 1;; *) exit 0;; esac'
    first=$(serial)
    check "status reads the identity (as the agent's user)" test -n "$first"
    check "a short certificate renews through the unit (within 300 s)" wait_for 300 sh -c "[ -n '$first' ] && s=\$(runuser -u scep-agent -- scep-agent status --keystore /var/lib/scep-agent 2>/dev/null | sed -n 's/^serial=//p'); [ -n \"\$s\" ] && [ \"\$s\" != '$first' ]"
    check "the renewed certificate verifies" openssl verify -CAfile /srv/scep/state/ca.pem /etc/scep-agent/published/cert.pem
    check "the path unit reloaded the consumer after the enrollment and the renewal" \
        wait_for 20 sh -c '[ "$(wc -l < /root/reloads)" -ge 2 ]'
    check "the agent is still active after renewing" systemctl is-active scep-agent.service
    check "the agent logged to the journal" sh -c 'journalctl -u scep-agent.service --no-pager | grep -q "event=renewed"'

    # Back to a normal renewal window; a restart keeps the identity and enrolls nothing.
    sed -i 's/^renew-before = .*/renew-before = 33%/' /etc/scep-agent.conf
    check "systemctl stop" systemctl stop scep-agent.service
    before=$(serial)
    check "systemctl restart" systemctl restart scep-agent.service
    sleep 5
    check "a restart keeps the identity" sh -c "systemctl is-active -q scep-agent.service && [ -n '$before' ] && [ \"\$(runuser -u scep-agent -- scep-agent status --keystore /var/lib/scep-agent | sed -n 's/^serial=//p')\" = '$before' ]"
    check "systemctl reload (SIGHUP) keeps it running" sh -c 'systemctl reload scep-agent.service && sleep 2 && systemctl is-active scep-agent.service'
    # Short renewals again from the next boot on, to watch one after the reboot.
    sed -i 's/^renew-before = .*/renew-before = 95%/' /etc/scep-agent.conf
    echo 2 > /root/phase
    finish_phase 1
fi

if [ "$PHASE" = 2 ]; then
    check "after a reboot the unit is active" wait_for 30 systemctl is-active scep-agent.service
    check "the identity survived the reboot" sh -c "runuser -u scep-agent -- scep-agent status --keystore /var/lib/scep-agent | grep -qx 'subject=CN=booted-0042,O=Acme'"
    # The challenge is gone, so only a RenewalReq signed by the surviving identity can succeed.
    check "after the reboot the unit renews with it (RenewalReq: no challenge is left)" \
        wait_for 300 sh -c 'journalctl -b -u scep-agent.service --no-pager | grep -q "event=renewed"'
    # 0 is valid, 10 valid and in the renewal window (where renew-before = 95% keeps it nearly
    # always); 11 (last attempt failed), 12 (expired) and 13 (no identity) fail the check.
    check "status --check says valid (0 or 10)" sh -c 'runuser -u scep-agent -- scep-agent status --keystore /var/lib/scep-agent --check >/dev/null; rc=$?; [ "$rc" = 0 ] || [ "$rc" = 10 ]' 
    check "status as root refuses the agent's keystore (it is not root's)" sh -c \
        'scep-agent status --keystore /var/lib/scep-agent 2>&1 | grep -q "not owned by this user"'
    check "dpkg --purge removes the package" dpkg --purge scep-agent
    check "purge stopped the agent" sh -c '! systemctl is-active scep-agent.service'
    check "purge removed the configuration and the published copies" sh -c \
        '[ ! -e /etc/scep-agent.conf ] && [ ! -e /etc/scep-agent/published ] && [ ! -e /etc/default/scep-agent ]'
    check "purge kept the keystore (the device's identity)" test -e /var/lib/scep-agent/current
    check "purge removed the enablement links and stopped the path unit" sh -c \
        '! systemctl is-active -q scep-agent-reload.path && [ ! -L /etc/systemd/system/paths.target.wants/scep-agent-reload.path ] && [ ! -L /etc/systemd/system/multi-user.target.wants/scep-agent.service ]'
    check "purge removed the units" sh -c '[ ! -e /lib/systemd/system/scep-agent.service ] && [ ! -e /lib/systemd/system/scep-agent-reload.path ]'
    echo 3 > /root/phase
    finish_phase 2
fi

if [ "$PHASE" = 3 ]; then
    check "the machine has a TPM (/dev/tpmrm0)" wait_for 30 test -c /dev/tpmrm0
    check "tpm-udev installs" dpkg -i /root/tpm-udev.deb
    udevadm trigger --action=change /dev/tpmrm0 >/dev/null 2>&1
    udevadm settle
    check "tpm-udev gives /dev/tpmrm0 to the tss group" sh -c '[ "$(stat -c %G /dev/tpmrm0)" = tss ]'
    check "the package installs again" dpkg -i /root/scep-agent.deb
    before=$(serial)
    check "the identity kept by the purge is in service, its key in a file" sh -c \
        "[ -n '$before' ] && runuser -u scep-agent -- scep-agent status --keystore /var/lib/scep-agent | grep -qx key_storage=file"
    cat > /etc/scep-agent.conf <<CONF
url = http://127.0.0.1:8080/scep
ca-fingerprint = $FP
subject = CN=booted-0042,O=Acme
keystore = /var/lib/scep-agent
cert-out = /etc/scep-agent/published/cert.pem
key-storage = tpm
retry-min = 5s
renew-before = 95%
CONF
    systemctl daemon-reload
    # The shipped unit hides every device (PrivateDevices=yes): without the drop-in the renewal
    # into the TPM fails, saying which device, and the identity in service stays.
    check "without the TPM drop-in the unit starts" systemctl start scep-agent.service
    check "without the TPM drop-in the renewal fails, naming the device (within 300 s)" \
        wait_for 300 sh -c 'journalctl -u scep-agent.service --no-pager | grep "renewal failed" | grep -q "/dev/tpmrm0"'
    check "and the identity in service is untouched" sh -c "[ \"\$(runuser -u scep-agent -- scep-agent status --keystore /var/lib/scep-agent | sed -n 's/^serial=//p')\" = '$before' ]"
    check "systemctl stop" systemctl stop scep-agent.service
    # The drop-in as docs/tpm.md says: scep-agent.service.d/tpm.conf, then daemon-reload.
    install -D -m 0644 /root/tpm.conf /etc/systemd/system/scep-agent.service.d/tpm.conf
    systemctl daemon-reload
    check "the unit with the drop-in passes systemd-analyze verify" systemd-analyze verify --man=no scep-agent.service
    check "with the drop-in the unit starts" systemctl start scep-agent.service
    check "with the drop-in the identity renews into a TPM key (within 300 s)" \
        wait_for 300 sh -c 'runuser -u scep-agent -- scep-agent status --keystore /var/lib/scep-agent | grep -qx key_storage=tpm'
    check "the keystore holds a TSS2 key file, not a PEM key" sh -c \
        'k=$(ls /var/lib/scep-agent/*/key.tpm2 2>/dev/null | head -1); [ -n "$k" ] && grep -q "BEGIN TSS2 PRIVATE KEY" "$k"'
    check "the certificate issued for the TPM key verifies" openssl verify -CAfile /srv/scep/state/ca.pem /etc/scep-agent/published/cert.pem
    pid=$(main_pid)
    check "the agent reaches the TPM through the tss group, still as scep-agent" sh -c \
        "[ \"\$(ps -o user= -p $pid)\" = scep-agent ] && grep '^Groups:' /proc/$pid/status | grep -qw \"\$(getent group tss | cut -d: -f3)\""
    tpm_serial=$(serial)
    check "the TPM-backed identity renews again, inside the TPM (within 300 s)" wait_for 300 sh -c \
        "s=\$(runuser -u scep-agent -- scep-agent status --keystore /var/lib/scep-agent | sed -n 's/^serial=//p'); [ -n \"\$s\" ] && [ \"\$s\" != '$tpm_serial' ] && runuser -u scep-agent -- scep-agent status --keystore /var/lib/scep-agent | grep -qx key_storage=tpm"
    echo 4 > /root/phase
    finish_phase 3
fi
bad "unknown phase $PHASE"
systemctl poweroff
