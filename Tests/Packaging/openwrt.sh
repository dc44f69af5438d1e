#!/usr/bin/env bash
# The OpenWrt service as its init script defines it, without an OpenWrt. The script runs with
# procd's and UCI's shell functions replaced by recorders, and the test reads what it asked procd
# for: its user, no_new_privs, the jail and its mounts. Then the jail is rebuilt with bubblewrap
# from the recorded mounts alone (a new mount namespace holding only them, /proc, /sys and a
# minimal /dev, as ujail builds it), and the agent enrolls, renews and reports its status in it
# against the test responder: what the script mounts is all the agent needs.
#
#   Tests/Packaging/openwrt.sh BINARY RESPONDER
#
# Not covered, for want of an OpenWrt here: procd and ujail themselves (the recorders stand in
# for procd.sh), and the package's USERID (checked only as text).
set -u
BIN=$(readlink -f "$1")
RESPONDER=$(readlink -f "$2")
. "$(dirname "$0")/../lib/checks.sh"
PACKAGE=$(readlink -f "$(dirname "$0")/../../Packaging/openwrt")

# start_service with recorders in place of procd.sh and UCI: one line per call in $RECORD.
# UCI options come from the environment (UCI_url, UCI_jail, ...).
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
        . "$PACKAGE/files/scep-agent.init"
        STATE=$SCRATCH/state
        CONF=$SCRATCH/scep-agent.conf
        start_service
    )
}

PORT=$((20000 + RANDOM % 20000))
mkdir -p "$SCRATCH/responder"
launch_responder "$SCRATCH/responder/out" --port "$PORT" --state "$SCRATCH/responder" || exit 1
RESPONDER_PID=$LAUNCHED_PID
trap 'kill "$RESPONDER_PID" 2>/dev/null; rm -rf "$SCRATCH"' EXIT
FINGERPRINT=$(cat "$SCRATCH/responder/ca.sha256")

cat > "$SCRATCH/scep-agent.conf" <<EOF
challenge-file = $SCRATCH/state/challenge
consume-challenge = yes
EOF
chmod 644 "$SCRATCH/scep-agent.conf"

export UCI_url="http://127.0.0.1:$PORT/scep" UCI_ca_fingerprint="$FINGERPRINT" UCI_subject="CN=router-0042,O=Acme"
record_service "$SCRATCH/jailed"
recorded=$(cat "$SCRATCH/jailed")

# What the script asks procd for.
expect_text "runs as its own user" "$recorded" "param user scep-agent"
expect_text "and its own group" "$recorded" "param group scep-agent"
expect_text "with no_new_privs" "$recorded" "param no_new_privs 1"
expect_text "in a jail with /dev/log, /proc and /sys" "$recorded" "jail scep-agent log procfs sysfs"
[ "$(grep '^rw ' "$SCRATCH/jailed")" = "rw $SCRATCH/state" ] && pass "the jail's one writable path is the agent's state" \
    || fail "the jail's writable paths: $(grep '^rw ' "$SCRATCH/jailed")"
expect_text "the keystore is inside it" "$recorded" "--keystore $SCRATCH/state/keystore"
case "$recorded" in *"param seccomp"*) fail "procd's seccomp parameter is used (a static binary never loads its preload library)" ;;
    *) pass "no procd seccomp profile that a static binary would never load" ;; esac
[ "$(stat -c %a "$SCRATCH/state")" = 700 ] && pass "the state directory is 0700" || fail "state directory mode $(stat -c %a "$SCRATCH/state")"
expect_text "the package makes the user" "$(cat "$PACKAGE/Makefile")" "USERID:=scep-agent:scep-agent"

UCI_jail=0 record_service "$SCRATCH/unjailed"
grep -q '^jail\|^ro \|^rw ' "$SCRATCH/unjailed" && fail "option jail 0 still asks for a jail" || pass "option jail 0: no jail"
grep -q 'param no_new_privs 1' "$SCRATCH/unjailed" && pass "option jail 0 keeps no_new_privs" || fail "option jail 0 dropped no_new_privs"

# The recorded jail, rebuilt: only the recorded mounts, the binary where the package puts it,
# and the loopback network the responder is on (ujail keeps the host's network unless told).
# procd runs the agent as scep-agent; here a user namespace stands in: the agent runs as uid 990,
# which is this test's own user outside, so the state directory (this test's) is the agent's own.
chown "$(id -u):$(id -g)" "$SCRATCH/state"
jail=(bwrap --unshare-user --uid 990 --gid 990 --unshare-pid --unshare-ipc --unshare-uts --share-net --die-with-parent
      --dev /dev --ro-bind "$BIN" /usr/sbin/scep-agent)
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

printf 's3cret\n' > "$SCRATCH/state/challenge"
chmod 600 "$SCRATCH/state/challenge"
if "${jail[@]}" /usr/sbin/scep-agent --version >/dev/null 2>&1; then
    expect_status "enroll inside the jail" 0 jailed enroll
    [ -e "$SCRATCH/state/keystore/current" ] && pass "the identity is committed in the jail's state" || fail "no identity in $SCRATCH/state/keystore"
    [ ! -e "$SCRATCH/state/challenge" ] && pass "the challenge is consumed inside the jail" || fail "the challenge is still there"
    expect_status "renew inside the jail" 0 jailed renew
    expect_status "status inside the jail" 0 jailed status
    expect_text "status reads the renewed identity" "$OUT" "CN=router-0042"
    # The jail holds nothing else: the responder's state, beside the agent's, is out of sight.
    "${jail[@]}" /usr/sbin/scep-agent status --keystore "$SCRATCH/responder" >/dev/null 2>"$SCRATCH/outside.err"
    expect_text "outside the recorded paths nothing is visible" "$(cat "$SCRATCH/outside.err")" "No such file or directory"
else
    echo "# the jail itself: not checked, bubblewrap cannot build one here: $("${jail[@]}" /usr/sbin/scep-agent --version 2>&1 | tail -1)"
fi

finish
