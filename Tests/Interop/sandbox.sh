#!/usr/bin/env bash
# The privilege separation of the shipped binary, observed from outside: the network process is
# sandboxed (no_new_privs, seccomp, Landlock, another user), holds no keystore file and no
# secret, dies when it steps out of its sandbox, and its death leaves the keystore as it was.
# The key process keeps no challenge in its environment, and hooks get none.
#
#   Tests/Interop/sandbox.sh BINARY RESPONDER [PROBE_BINARY [RUNNER]]
#
# PROBE_BINARY is a test build (make probes: -D SCEP_SANDBOX_PROBES, which the shipped binary does
# not have) in which SCEP_AGENT_SANDBOX_PROBE makes the network process try one forbidden thing
# once sandboxed (open:PATH, exec, ptrace, unix-socket, fork, mmap-exec), or die midway (crash).
# RUNNER runs the binaries (qemu-user); there the kernel's seccomp does not apply to emulated
# calls, so only what does not depend on it is checked.
set -u
BIN=$(readlink -f "$1")
RESPONDER=$(readlink -f "$2")
PROBES=${3:+$(readlink -f "$3")}
RUNNER=${4:-}
. "$(dirname "$0")/../lib/checks.sh"
# The probe build is a development build: it finds the Swift runtime through this.
export LD_LIBRARY_PATH=$(dirname "$(command -v swiftc)")/../lib/swift/linux

PORT=$(test_port_base)
printf 's3cret\n' > "$SCRATCH/challenge"
chmod 600 "$SCRATCH/challenge"
RESPONDER_PID=
start_responder() { # FAULT
    [ -n "$RESPONDER_PID" ] && kill "$RESPONDER_PID" 2>/dev/null && wait "$RESPONDER_PID" 2>/dev/null
    PORT=$((PORT + 1))
    mkdir -p "$SCRATCH/responder"
    launch_responder "$SCRATCH/responder/out" --port "$PORT" --fault "$1" --state "$SCRATCH/responder"
    RESPONDER_PID=$LAUNCHED_PID
}
cleanup() { [ -n "$RESPONDER_PID" ] && kill "$RESPONDER_PID" 2>/dev/null; rm -rf "$SCRATCH"; }
trap cleanup EXIT
if [ -n "$RUNNER" ]; then export SCEP_AGENT_NETWORK_RUNNER; SCEP_AGENT_NETWORK_RUNNER=$(command -v "$RUNNER"); fi

agent() { # COMMAND KEYSTORE [options]: the shipped binary, or the probe build with AGENT=$PROBES
    local command=$1 keystore=$2
    shift 2
    $RUNNER "${AGENT:-$BIN}" "$command" --url "http://127.0.0.1:$PORT/scep" --ca-fingerprint "$(cat "$SCRATCH/responder/ca.sha256")" \
        --subject "CN=dev-0042,O=Acme" --keystore "$keystore" --challenge-file "$SCRATCH/challenge" "$@"
}
snapshot() { find "$1" -type f ! -name lock -exec sha256sum {} + 2>/dev/null | sort; }

start_responder none
expect_status "enroll through the network process" 0 agent enroll "$SCRATCH/ks"
before=$(snapshot "$SCRATCH/ks")

# The shipped binary ignores the probe variable: its network process does its job.
SCEP_AGENT_SANDBOX_PROBE=crash expect_status "the shipped binary has no probes" 0 agent renew "$SCRATCH/ks"
before=$(snapshot "$SCRATCH/ks")

if [ -n "$PROBES" ]; then
    # A network process that dies midway (a memory-safety trap in a parser would look the same):
    # a clear error, and the keystore as it was.
    for command in renew enroll; do
        keystore=$SCRATCH/ks
        [ "$command" = enroll ] && keystore=$SCRATCH/ks-empty
        AGENT=$PROBES SCEP_AGENT_SANDBOX_PROBE=crash expect_status "a crashed network process: $command exits 1" 1 agent "$command" "$keystore"
        expect_text "the crash is named ($command)" "$ERR" "the network process crashed (signal 6); nothing was committed"
    done
    [ "$before" = "$(snapshot "$SCRATCH/ks")" ] && pass "the crash left the identity as it was" || fail "the crash changed the keystore"
    [ ! -e "$SCRATCH/ks-empty/current" ] && pass "the crash committed no first identity" || fail "an identity appeared after a crash"

    # A network process that sends its result and then stays, channel open: the key process
    # ends it after its grace period (2 s) and the renewal stands. The probe waits for the key
    # process to close its end, which it does only after reaping: a key process that waited for
    # the exit instead would never return (timeout's status 124).
    linger_before=$(snapshot "$SCRATCH/ks")
    RUNNER="timeout 60" AGENT=$PROBES SCEP_AGENT_SANDBOX_PROBE=linger \
        expect_status "a lingering network process is ended and the renewal succeeds" 0 agent renew "$SCRATCH/ks"
    expect_text "the key process says it ended the lingering network process" "$ERR" "did not exit after its result and was ended"
    [ "$linger_before" != "$(snapshot "$SCRATCH/ks")" ] && pass "the renewal beside a lingering network process was committed" \
        || fail "the keystore is unchanged after the renewal"
    before=$(snapshot "$SCRATCH/ks")
fi

if [ -z "$RUNNER" ] && grep -q '^Seccomp:' /proc/self/status; then
    if [ -n "$PROBES" ]; then
        # Each forbidden step kills the process (seccomp) before it can do anything: opening the
        # keystore or any file, exec, ptrace of the key process, a unix socket, a fork.
        for probe in "open:$SCRATCH/ks/current" open:/etc/passwd exec ptrace unix-socket fork mmap-exec; do
            AGENT=$PROBES SCEP_AGENT_SANDBOX_PROBE=$probe expect_status "probe $probe: the network process is stopped" 1 agent caps "$SCRATCH/ks"
            expect_text "probe $probe: killed by its sandbox" "$ERR" "made a system call its sandbox forbids and was killed (signal 31)"
            case "$ERR" in *"probe survived"*) fail "probe $probe survived: $ERR" ;; esac
        done
    fi

    if [ -n "$PROBES" ]; then
        # The key process's own filter: calls it never makes fail with EPERM, and the renewal goes on.
        # Without the filter, mount would fail with ENOENT as root (no such mount point), and kcmp
        # on itself, unshare and clone with a namespace flag (as root) would succeed. clone3 fails
        # with ENOSYS (its flags are out of a filter's reach; the C library falls back to clone),
        # where without the filter it would create the child or fail with EPERM. TIOCSTI on
        # /dev/null fails with ENOTTY without the filter.
        probes=(kcmp clone3 tiocsti)
        [ "$(id -u)" = 0 ] && probes+=(mount unshare clone)
        for probe in "${probes[@]}"; do
            AGENT=$PROBES SCEP_AGENT_KEY_PROBE=$probe expect_status "key process probe $probe: the renewal still succeeds" 0 agent renew "$SCRATCH/ks"
            reason="Operation not permitted"
            [ "$probe" = clone3 ] && reason="Function not implemented"
            # The same probe before the filter: an answer the kernel gives by itself proves nothing.
            case "$ERR" in
                *"before=\"$probe failed: $reason\""*) echo "# key process probe $probe: the kernel itself answers '$reason'; not checked" ;;
                *) expect_text "key process probe $probe: refused by its filter" "$ERR" "result=\"$probe failed: $reason\"" ;;
            esac
        done
    fi

    # Landlock, where the kernel has it: the network process says which ABI it is under, or
    # why there is none.
    expect_status "caps with debug logging" 0 agent caps "$SCRATCH/ks" --log-level debug
    case "$ERR" in
        *"landlock_abi=0"*) expect_text "no Landlock: the kernel's reason is logged" "$ERR" "step=landlock" ;;
        *"landlock_abi="*) pass "network process: under a Landlock ruleset ($(grep -o 'landlock_abi=[0-9]*' <<<"$ERR"))" ;;
        *) fail "the network process did not report its sandbox" ;;
    esac

    # A live network process, held by a server that drips its answer: what it holds and is.
    start_responder slow-drip
    SCEP_CHALLENGE=s3cret-from-env "$BIN" enroll --url "http://127.0.0.1:$PORT/scep" \
        --ca-fingerprint "$(cat "$SCRATCH/responder/ca.sha256")" --subject "CN=dev-0043" --keystore "$SCRATCH/ks-live" \
        --timeout 30s >/dev/null 2>&1 &
    KEY_PID=$!
    NET_PID=
    for _ in $(seq 100); do
        NET_PID=$(pgrep -P "$KEY_PID" | head -1)
        [ -n "$NET_PID" ] && grep -q '^Seccomp:[[:space:]]*2' "/proc/$NET_PID/status" 2>/dev/null && break
        sleep 0.1
    done
    if [ -n "$NET_PID" ] && [ -r "/proc/$NET_PID/status" ]; then
        status=$(cat "/proc/$NET_PID/status")
        expect_text "network process: no_new_privs" "$status" "$(printf 'NoNewPrivs:\t1')"
        expect_text "network process: seccomp filter" "$status" "$(printf 'Seccomp:\t2')"
        if [ "$(id -u)" -eq 0 ]; then
            expect_text "network process: runs as nobody" "$(grep '^Uid:' <<<"$status")" "65534"
            capabilities=$(sed -n 's/^CapEff:[[:space:]]*//p' <<<"$status")
            [ "$capabilities" = "0000000000000000" ] && pass "network process: no capabilities" || fail "network process CapEff=$capabilities"
            # Only the channel, standard streams and its sockets: no keystore file, no challenge file.
            files=$(ls -l "/proc/$NET_PID/fd" 2>/dev/null | awk 'NR > 1 { print $NF }')
            case "$files" in
                *ks-live*|*challenge*) fail "network process holds a secret's file: $files" ;;
                *) pass "network process: no keystore or challenge file open" ;;
            esac
            environment=$(tr '\0' '\n' < "/proc/$NET_PID/environ")
            case "$environment" in *s3cret*) fail "the challenge is in the network process's environment" ;;
                *) pass "network process: no challenge in its environment" ;; esac
            key_status=$(cat "/proc/$KEY_PID/status")
            expect_text "key process: no_new_privs" "$key_status" "$(printf 'NoNewPrivs:\t1')"
            expect_text "key process: its own seccomp filter" "$key_status" "$(printf 'Seccomp:\t2')"
            key_environment=$(tr '\0' '\n' < "/proc/$KEY_PID/environ")
            case "$key_environment" in *s3cret-from-env*) fail "SCEP_CHALLENGE is still readable in /proc/PID/environ" ;;
                *) pass "key process: SCEP_CHALLENGE overwritten in /proc/PID/environ" ;; esac
        fi
    else
        fail "no sandboxed network process seen (pid ${NET_PID:-none})"
    fi
    kill "$KEY_PID" 2>/dev/null; wait "$KEY_PID" 2>/dev/null
    sleep 0.2
    # Gone, or a zombie waiting for a reaper (a container's init may never reap it).
    state=$(awk '{ print $3 }' "/proc/$NET_PID/stat" 2>/dev/null)
    [ -n "$NET_PID" ] && { [ -z "$state" ] || [ "$state" = Z ]; } && pass "the network process ends with the key process" \
        || fail "the network process outlived the key process (state $state)"
fi

# What a sleeping daemon keeps in memory after enrolling: no copy of the challenge once it is
# consumed, only the one it keeps for renewals otherwise (request and CSR buffers are wiped),
# and no copy of the device secret. Read through /proc/PID/mem: root only, and native runs only.
# secrets_in_memory NAME [OPTIONS...]: starts `run`, waits for the enrollment, prints the counts.
secrets_in_memory() {
    local name=$1 pid count
    shift
    $RUNNER "$BIN" run --url "http://127.0.0.1:$PORT/scep" --ca-fingerprint "$(cat "$SCRATCH/responder/ca.sha256")" \
        --subject "CN=dev-0045" --keystore "$SCRATCH/ks-$name" "$@" 2> "$SCRATCH/$name.log" &
    pid=$!
    for count in $(seq 100); do grep -q 'event=enrolled' "$SCRATCH/$name.log" && break; sleep 0.2; done
    sleep 0.5
    /usr/bin/python3 "$(dirname "$0")/../lib/memscan.py" "$pid" s3cret DEVICE-SECRET-4f1c9a CN=dev-0045
    kill "$pid"; wait "$pid" 2>/dev/null
}
if [ -z "$RUNNER" ] && [ "$(id -u)" = 0 ] && [ -x /usr/bin/python3 ]; then
    start_responder none
    printf 's3cret\n' > "$SCRATCH/challenge-consumed"
    chmod 600 "$SCRATCH/challenge-consumed"
    printf 'DEVICE-SECRET-4f1c9a\n' > "$SCRATCH/device-secret"
    chmod 600 "$SCRATCH/device-secret"
    counts=$(secrets_in_memory consumed --challenge-file "$SCRATCH/challenge-consumed" --consume-challenge \
        --device-secret "$SCRATCH/device-secret")
    grep -q 'event="challenge consumed"' "$SCRATCH/consumed.log" && pass "the daemon enrolled and consumed the challenge" \
        || fail "the daemon did not enroll and consume: $(tail -1 "$SCRATCH/consumed.log")"
    # The scan sees the daemon's heap: the subject it enrolled with is there.
    [ "$(awk '$1 == "CN=dev-0045" { print $2 }' <<<"$counts")" -ge 1 ] 2>/dev/null && pass "the memory scan finds what the daemon holds (its subject)" \
        || fail "the memory scan found nothing it should ($counts)"
    [ "$(awk '$1 == "s3cret" { print $2 }' <<<"$counts")" = 0 ] && pass "no copy of a consumed challenge in its memory" \
        || fail "a consumed challenge is still in the daemon's memory ($counts)"
    [ "$(awk '$1 == "DEVICE-SECRET-4f1c9a" { print $2 }' <<<"$counts")" = 0 ] && pass "no copy of the device secret in its memory" \
        || fail "the device secret is in the daemon's memory ($counts)"
    counts=$(secrets_in_memory kept --challenge-file "$SCRATCH/challenge")
    kept=$(awk '$1 == "s3cret" { print $2 }' <<<"$counts")
    [ "$kept" = 1 ] && pass "exactly one copy of a kept challenge in its memory (the one kept for renewals)" \
        || fail "the daemon's memory holds ${kept:-?} copies of a kept challenge, not 1"
else
    echo "# secrets in memory: not checked (needs root, python3 and a native run)"
fi

# A hook sees what it is told and nothing else: no challenge, in a group of its own.
start_responder none
cat > "$SCRATCH/hook.sh" <<'HOOK'
#!/bin/sh
env > "$1.env"
ps -o pgid= -p $$ | tr -d ' ' > "$1.pgid"
grep '^NoNewPrivs:' /proc/self/status > "$1.status"
HOOK
chmod 755 "$SCRATCH/hook.sh"
SCEP_CHALLENGE=s3cret expect_status "enroll with a hook" 0 $RUNNER "$BIN" enroll --url "http://127.0.0.1:$PORT/scep" \
    --ca-fingerprint "$(cat "$SCRATCH/responder/ca.sha256")" --subject "CN=dev-0044" --keystore "$SCRATCH/ks-hook" \
    --hook "$SCRATCH/hook.sh $SCRATCH/hook"
if [ -s "$SCRATCH/hook.env" ]; then
    case "$(cat "$SCRATCH/hook.env")" in *s3cret*) fail "the hook saw the challenge" ;; *) pass "the hook's environment has no challenge" ;; esac
    expect_text "the hook is told the event" "$(cat "$SCRATCH/hook.env")" "SCEP_AGENT_EVENT=certificate-committed"
    # The helper checks the certificate's path against the keystore it was started with.
    expect_text "the hook is told the new certificate, in the keystore" "$(cat "$SCRATCH/hook.env")" "SCEP_AGENT_CERT=$SCRATCH/ks-hook/"
    expect_text "the hook is told the keystore" "$(cat "$SCRATCH/hook.env")" "SCEP_AGENT_KEYSTORE=$SCRATCH/ks-hook"
    # The hook helper is forked before the key process confines itself: a hook may use sudo.
    # (As free as this test: under a parent that set it already, both show 1.)
    expect_text "the hook is free of the key process's no_new_privs" "$(cat "$SCRATCH/hook.status")" "$(grep '^NoNewPrivs:' /proc/self/status)"
    [ "$(cat "$SCRATCH/hook.pgid")" != "$(ps -o pgid= -p $$ | tr -d ' ')" ] && pass "the hook runs in a process group of its own" \
        || fail "the hook shares the test's process group"
else
    fail "the hook did not run"
fi

finish
