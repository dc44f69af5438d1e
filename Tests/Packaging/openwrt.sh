#!/usr/bin/env bash
# The OpenWrt service as its package and init script define it, without an OpenWrt.
#
# 1. The init script runs with procd's and UCI's shell functions replaced by recorders, and the
#    test reads what it asked procd for: its user, no_new_privs, the jail and its mounts; and
#    that it refuses to start without its user (procd would run it as root).
# 2. The package's upgrade step (its postinst) runs on a copy of a root-owned state directory.
# 3. The jail is rebuilt with bubblewrap from the recorded mounts alone: a new mount namespace
#    holding only them and what the recorded jail flags add (/proc, /sys, /dev/log), a minimal
#    /dev, the configuration installed with the package's mode, and the agent as an unprivileged
#    user of its own (a user namespace, as that uid). In it the agent enrolls, consumes the
#    challenge, renews and reads its status against the test responder.
#
#   Tests/Packaging/openwrt.sh BINARY RESPONDER
#
# Not covered, for want of an OpenWrt: procd and ujail themselves (the recorders stand in for
# procd.sh), and the package's USERID and DEPENDS (checked as text).
set -u
BIN=$(readlink -f "$1")
RESPONDER=$(readlink -f "$2")
. "$(dirname "$0")/../lib/checks.sh"
PACKAGE=$(readlink -f "$(dirname "$0")/../../Packaging/openwrt")
# The agent's user in the rebuilt jail: an unprivileged uid of its own.
AGENT_UID=990

# start_service with recorders in place of procd.sh, UCI and /lib/functions.sh: one line per
# call in RECORD. UCI options come from the environment (UCI_url, UCI_jail, ...); USER_EXISTS=no
# plays a device without the agent's user. chown is recorded, then done for AGENT_UID.
record_service() { # RECORD
    (
        RECORD=$1
        procd_open_instance() { :; }
        procd_close_instance() { :; }
        procd_set_param() { echo "param $*" >> "$RECORD"; }
        procd_append_param() { echo "append $*" >> "$RECORD"; }
        procd_add_jail() { echo "jail $*" >> "$RECORD"; }
        procd_add_jail_mount() { echo "ro $*" >> "$RECORD"; }
        procd_add_jail_mount_rw() { echo "rw $*" >> "$RECORD"; }
        config_load() { :; }
        config_get() { eval "$1=\${UCI_$3:-\${4:-}}"; }
        config_get_bool() {
            local value
            eval "value=\${UCI_$3:-\${4:-}}"
            case "$value" in 1|on|true|yes|enabled) eval "$1=1" ;; *) eval "$1=0" ;; esac
        }
        user_exists() { [ "${USER_EXISTS:-yes}" = yes ]; }
        chown() { echo "chown $*" >> "$RECORD"; command chown -h "$AGENT_UID:$AGENT_UID" "${@: -1}"; }
        . "$PACKAGE/files/scep-agent.init"
        STATE=${STATE_UNDER_TEST:-$SCRATCH/state}
        CONF=$SCRATCH/scep-agent.conf
        start_service
    ) >> "$1" 2>&1
}

PORT=$(test_port_base)
mkdir -p "$SCRATCH/responder"
launch_responder "$SCRATCH/responder/out" --port "$PORT" --state "$SCRATCH/responder" || exit 1
RESPONDER_PID=$LAUNCHED_PID
trap 'kill "$RESPONDER_PID" 2>/dev/null; rm -rf "$SCRATCH"' EXIT
FINGERPRINT=$(cat "$SCRATCH/responder/ca.sha256")

printf 'challenge-file = %s\nconsume-challenge = yes\n' "$SCRATCH/state/challenge" > "$SCRATCH/scep-agent.conf"
# The mode the package installs the configuration with (OpenWrt's INSTALL_CONF is 0600,
# INSTALL_DATA 0644), root's, as on a device.
case "$(grep 'files/scep-agent.conf' "$PACKAGE/Makefile")" in
    *INSTALL_DATA*) chmod 644 "$SCRATCH/scep-agent.conf" ;;
    *INSTALL_CONF*) chmod 600 "$SCRATCH/scep-agent.conf" ;;
    *) fail "the Makefile installs the configuration in no way this test knows" ;;
esac

export UCI_url="http://127.0.0.1:$PORT/scep" UCI_ca_fingerprint="$FINGERPRINT" UCI_subject="CN=router-0042,O=Acme"
record_service "$SCRATCH/jailed"
recorded=$(cat "$SCRATCH/jailed")

# 1. What the script asks procd for.
expect_text "runs as its own user" "$recorded" "param user scep-agent"
expect_text "and its own group" "$recorded" "param group scep-agent"
expect_text "with no_new_privs" "$recorded" "param no_new_privs 1"
expect_text "in a jail with /dev/log, /proc and /sys, required" "$recorded" "jail scep-agent log procfs sysfs requirejail"
[ "$(grep '^rw ' "$SCRATCH/jailed")" = "rw $SCRATCH/state" ] && pass "the jail's one writable path is the agent's state" \
    || fail "the jail's writable paths: $(grep '^rw ' "$SCRATCH/jailed")"
expect_text "the keystore is inside it" "$recorded" "--keystore $SCRATCH/state/keystore"
expect_text "the state directory is made the agent's, never through a link" "$recorded" "chown -h scep-agent:scep-agent $SCRATCH/state"
[ "$(stat -c '%a %u' "$SCRATCH/state")" = "700 $AGENT_UID" ] && pass "the state directory is the agent's, 0700" \
    || fail "state directory: $(stat -c '%a %u' "$SCRATCH/state")"
case "$recorded" in *"param seccomp"*) fail "procd's seccomp parameter is used (a static binary never loads its preload library)" ;;
    *) pass "no procd seccomp profile that a static binary would never load" ;; esac
expect_text "the package makes the user" "$(cat "$PACKAGE/Makefile")" "USERID:=scep-agent:scep-agent"
expect_text "the package needs ujail" "$(cat "$PACKAGE/Makefile")" "DEPENDS:=+procd-ujail"

UCI_jail=0 record_service "$SCRATCH/unjailed"
grep -q '^jail\|^ro \|^rw ' "$SCRATCH/unjailed" && fail "option jail 0 still asks for a jail" || pass "option jail 0: no jail"
UCI_jail=yes record_service "$SCRATCH/jail-yes"
grep -q '^jail scep-agent' "$SCRATCH/jail-yes" && pass "option jail yes keeps the jail" || fail "option jail yes ran without a jail"
USER_EXISTS=no record_service "$SCRATCH/no-user"
grep -q '^param command' "$SCRATCH/no-user" && fail "started without its user (procd would run it as root)"
expect_text "no start without the agent's user" "$(cat "$SCRATCH/no-user")" "the user scep-agent does not exist"
mkdir -m 755 "$SCRATCH/elsewhere"
ln -s "$SCRATCH/elsewhere" "$SCRATCH/linked-state"
STATE_UNDER_TEST=$SCRATCH/linked-state record_service "$SCRATCH/linked"
grep -q '^param command\|^chown' "$SCRATCH/linked" && fail "a state directory that is a link was used"
expect_text "a state directory that is a link is refused" "$(cat "$SCRATCH/linked")" "is a symbolic link; refusing it"
[ "$(stat -c '%a %u' "$SCRATCH/elsewhere")" = "755 0" ] && pass "the link's target is untouched" \
    || fail "the link's target changed: $(stat -c '%a %u' "$SCRATCH/elsewhere")"
# Extra mounts are words, never patterns: a * stays a * (and names no file here).
UCI_jail_mount='/e*' record_service "$SCRATCH/pattern"
grep -q '^ro .* /e\*$' "$SCRATCH/pattern" && pass "extra jail mounts are not expanded as patterns" \
    || fail "extra jail mounts: $(grep '^ro ' "$SCRATCH/pattern")"

# 2. The upgrade step, under BusyBox's shell and applets as on OpenWrt: a state directory the old
# package left to root becomes the agent's, links never followed; one already the agent's is
# left alone.
postinst=$(sed -n '/^define Package\/scep-agent\/postinst/,/^endef/p' "$PACKAGE/Makefile" | sed '1d;$d' | sed 's/\$\$/$/g')
upgrade() { # STATE
    local applets=$SCRATCH/busybox-bin
    if [ ! -d "$applets" ]; then
        mkdir -p "$applets"
        for applet in sh find chown; do ln -s "$(command -v busybox)" "$applets/$applet"; done
    fi
    local script
    script=$(sed "s|/etc/scep-agent|$1|; s|scep-agent:scep-agent|$AGENT_UID:$AGENT_UID|" <<<"$postinst")
    PATH=$applets "$(command -v busybox)" sh -c "$script"
}
mkdir -p "$SCRATCH/old-state/keystore/g1"
echo key > "$SCRATCH/old-state/keystore/g1/key.pem"
echo s3cret > "$SCRATCH/old-state/challenge"
echo outside > "$SCRATCH/outside"
ln -s "$SCRATCH/outside" "$SCRATCH/old-state/link"
upgrade "$SCRATCH/old-state" && pass "the upgrade step runs (BusyBox)" || fail "the upgrade step failed"
[ -z "$(find "$SCRATCH/old-state" ! -type l ! -uid "$AGENT_UID")" ] && pass "the upgrade step gives the old state to the agent's user" \
    || fail "still not the agent's: $(find "$SCRATCH/old-state" ! -type l ! -uid "$AGENT_UID")"
[ "$(stat -c %u "$SCRATCH/outside")" = 0 ] && pass "a link's target outside the state is left alone" || fail "the upgrade step followed a link"
mkdir -p "$SCRATCH/new-state"
echo root > "$SCRATCH/new-state/root-file"
chown "$AGENT_UID:$AGENT_UID" "$SCRATCH/new-state"
upgrade "$SCRATCH/new-state"
[ "$(stat -c %u "$SCRATCH/new-state/root-file")" = 0 ] && pass "a state directory already the agent's is left alone" \
    || fail "the upgrade step handed over a root file in the agent's own directory"

# 3. The recorded jail, rebuilt: only the recorded mounts, the binary where the package puts it,
# and the loopback network the responder is on (ujail keeps the host's network unless told).
# bwrap runs as the agent's uid, so it reaches only what that user may read.
chmod 755 "$SCRATCH"
cp "$BIN" "$SCRATCH/scep-agent" && chmod 755 "$SCRATCH/scep-agent"
jail=(setpriv --reuid="$AGENT_UID" --regid="$AGENT_UID" --clear-groups
      bwrap --unshare-user --unshare-pid --unshare-ipc --unshare-uts --share-net --die-with-parent
      --dev /dev --ro-bind "$SCRATCH/scep-agent" /usr/sbin/scep-agent)
# The jail's flags, as ujail reads them: procfs and sysfs mount /proc and /sys; log, /dev/log.
for flag in $(sed -n 's/^jail scep-agent //p' "$SCRATCH/jailed"); do
    case "$flag" in
        procfs) jail+=(--proc /proc) ;;
        sysfs) jail+=(--ro-bind /sys /sys) ;;
        log) [ -S /dev/log ] && jail+=(--bind /dev/log /dev/log) ;;
    esac
done
for path in $(sed -n 's/^ro //p' "$SCRATCH/jailed"); do
    [ -e "$path" ] && jail+=(--ro-bind "$path" "$path")
done
for path in $(sed -n 's/^rw //p' "$SCRATCH/jailed"); do jail+=(--bind "$path" "$path"); done
# The recorded command, minus --syslog (its log is read from stderr here) and with COMMAND in
# place of `run`.
command_line=$(sed -n 's/^param command //p' "$SCRATCH/jailed")
options=$(sed -n 's/^append command //p' "$SCRATCH/jailed" | tr '\n' ' ')
jailed() { # COMMAND
    local words=() word
    for word in $command_line $options; do
        case "$word" in --syslog) ;; run) words+=("$1") ;; *) words+=("$word") ;; esac
    done
    "${jail[@]}" "${words[@]}"
}

# The configuration as installed (root's, in the package's mode) must be readable by the agent's
# user: checked outside the namespace, where root's files are root's.
setpriv --reuid="$AGENT_UID" --regid="$AGENT_UID" --clear-groups cat "$SCRATCH/scep-agent.conf" >/dev/null 2>&1 \
    && pass "the installed configuration is readable by the agent's user" \
    || fail "the agent's user cannot read the configuration as the package installs it ($(stat -c '%a %U' "$SCRATCH/scep-agent.conf"))"
# Inside a user namespace root's files show as nobody's, which the agent rightly refuses for its
# configuration: there the file is the agent's own (the other owner it accepts).
chown "$AGENT_UID:$AGENT_UID" "$SCRATCH/scep-agent.conf"
printf 's3cret\n' > "$SCRATCH/state/challenge"
chown "$AGENT_UID:$AGENT_UID" "$SCRATCH/state/challenge"
chmod 600 "$SCRATCH/state/challenge"
if "${jail[@]}" /usr/sbin/scep-agent --version >/dev/null 2>"$SCRATCH/bwrap.err"; then
    expect_status "enroll inside the jail, as the agent's user" 0 jailed enroll
    [ -e "$SCRATCH/state/keystore/current" ] && pass "the identity is committed in the jail's state" || fail "no identity in $SCRATCH/state/keystore"
    [ ! -e "$SCRATCH/state/challenge" ] && pass "the challenge is consumed inside the jail" || fail "the challenge is still there"
    expect_status "renew inside the jail" 0 jailed renew
    expect_status "status inside the jail" 0 jailed status
    expect_text "status reads the renewed identity" "$OUT" "CN=router-0042"
    # The jail holds nothing else: the responder's state, beside the agent's, is out of sight.
    "${jail[@]}" /usr/sbin/scep-agent status --keystore "$SCRATCH/responder" >/dev/null 2>"$SCRATCH/outside.err"
    expect_text "outside the recorded paths nothing is visible" "$(cat "$SCRATCH/outside.err")" "No such file or directory"
elif ! setpriv --reuid="$AGENT_UID" --regid="$AGENT_UID" --clear-groups unshare --user true 2>/dev/null; then
    # As sandbox.sh does without seccomp: a machine that gives an unprivileged user no user
    # namespace (a container's seccomp profile, a sysctl) cannot host this jail. Said, not passed.
    echo "# the jail itself: not checked, this machine gives an unprivileged user no user namespace"
else
    fail "bubblewrap cannot build the jail here: $(tail -1 "$SCRATCH/bwrap.err")"
fi

finish
