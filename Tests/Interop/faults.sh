#!/usr/bin/env bash
# The shipped binary against the fault-injecting responder on loopback: every bad reply gives a
# non-zero exit status, one clear line, and an unchanged keystore (for enroll and for renew).
#
#   Tests/Interop/faults.sh BINARY RESPONDER [RUNNER [ONLY]]
#
# RUNNER runs the binary (qemu-arm-static for the armv7hf build); ONLY, a regular expression,
# keeps the faults whose names match (the emulated runs take the ones that matter there).
set -u
BIN=$(readlink -f "$1")
RESPONDER=$(readlink -f "$2")
RUNNER=${3:-}
ONLY=${4:-}
. "$(dirname "$0")/../lib/checks.sh"

PORT=$(test_port_base)
printf 's3cret\n' > "$SCRATCH/challenge"
chmod 600 "$SCRATCH/challenge"
RESPONDER_PID=

start_responder() { # FAULT [extra args]
    stop_responder
    mkdir -p "$SCRATCH/responder"
    PORT=$((PORT + 1))
    launch_responder "$SCRATCH/responder/out" --port "$PORT" --fault "$1" --state "$SCRATCH/responder" "${@:2}"
    local started=$?
    RESPONDER_PID=$LAUNCHED_PID
    return $started
}
stop_responder() {
    [ -n "$RESPONDER_PID" ] && kill "$RESPONDER_PID" 2>/dev/null && wait "$RESPONDER_PID" 2>/dev/null
    RESPONDER_PID=
}
trap 'stop_responder; rm -rf "$SCRATCH"' EXIT

agent() { # COMMAND KEYSTORE [options]
    local command=$1 keystore=$2
    shift 2
    ${AGENT_EXEC:-} $RUNNER "$BIN" "$command" --url "http://127.0.0.1:$PORT/scep" --ca-fingerprint "$(cat "$SCRATCH/responder/ca.sha256")" \
        --subject "CN=dev-0042,O=Acme" --keystore "$keystore" --challenge-file "$SCRATCH/challenge" \
        --poll-interval 1s --poll-timeout 3s $AGENT_EXTRA "$@"
}
AGENT_EXTRA=

# Everything that holds the identity; the lock file records the last holder's pid and may change.
# A transaction the server left PENDING is recorded beside it (the `pending` pointer and the
# generation it names, so a restart polls it again): not part of the identity in service.
snapshot() {
    local pending
    pending=$(sed -n 's/^generation=//p' "$1/pending" 2>/dev/null)
    find "$1" -type f ! -name lock ! -name pending ${pending:+! -path "*/$pending/*"} -exec sha256sum {} + 2>/dev/null | sort
}

# FAULT_TABLE=FILE: each refusal's exit status and error line as Markdown rows, under a header
# that says how the table was made (docs/generated/faults.md; `make interop-test` writes it).
# The file is rewritten on every run; the result line goes last (table_result).
if [ -n "${FAULT_TABLE:-}" ]; then
    . "$(dirname "$0")/../../Scripts/lib/generated.sh"
    mkdir -p "$(dirname "$FAULT_TABLE")"
    {
        generated_header "Faults: the shipped binary against the fault-injecting responder" \
            "FAULT_TABLE=$FAULT_TABLE Tests/Interop/faults.sh $1 $2${RUNNER:+ $RUNNER}${ONLY:+ '$ONLY'}"
        echo
        echo "Binary: \`$($RUNNER "$BIN" --version 2>&1 | head -1)\`, $(stat -c %s "$BIN") bytes.${ONLY:+ Only the faults matching \`$ONLY\`.}"
        echo "Each fault is tried on enroll (into an empty keystore) and on renew (over a held identity,"
        echo "compared file by file by SHA-256 before and after); the row shows renew's exit status and error line."
        echo "What the faults are and what else is tested: [../faults.md](../faults.md)."
        echo
        echo "| fault (responder) | exit | the error line | keystore |"
        echo "|---|---|---|---|"
    } > "$FAULT_TABLE"
fi
table_result() {
    [ -n "${FAULT_TABLE:-}" ] || return 0
    printf '\nThe whole run (every check of faults.sh, these rows and the rest): %s passed, %s failed.\n' "$passed" "$failed" >> "$FAULT_TABLE"
}
record() { # NAME STATUS ERR KEYSTORE-VERDICT
    [ -n "${FAULT_TABLE:-}" ] || return 0
    local line
    line=$(printf '%s\n' "$3" | grep -v 'level=' | head -1 | sed "s|$SCRATCH|...|g; s|127.0.0.1:[0-9]*|127.0.0.1:PORT|g; s/transaction [0-9a-f]\{16,\}/transaction ID/g; s/|/\\|/g")
    printf '| %s | %s | `%s` | %s |\n' "$1" "$2" "$line" "$4" >> "$FAULT_TABLE"
}

# expect_refusal NAME FAULT STATUS TEXT: enroll into an empty keystore, then renew an existing one.
expect_refusal() {
    local name=$1 fault=$2 status=$3 text=$4
    if [ -n "$ONLY" ] && ! [[ "$name" =~ $ONLY ]]; then return; fi
    start_responder "$fault" || { fail "$name: responder"; return; }
    local empty="$SCRATCH/ks-empty-$fault"
    expect_status "$name: enroll exits $status" "$status" agent enroll "$empty"
    expect_text "$name: enroll says why" "$ERR" "$text"
    expect_one_line "$name: enroll error is one line" "$(printf '%s\n' "$ERR" | grep -v 'level=')"
    # The commit point is the `current` pointer; status must find no identity.
    if [ ! -e "$empty/current" ] && ! $RUNNER "$BIN" status --keystore "$empty" >/dev/null 2>&1; then
        pass "$name: enroll wrote no identity"
    else
        fail "$name: enroll wrote an identity"
    fi

    # A good identity from a healthy server, then the fault on renewal.
    local held="$SCRATCH/ks-held-$fault"
    start_responder none || return
    agent enroll "$held" >/dev/null 2>&1 || { fail "$name: setup enroll"; return; }
    local before after
    before=$(snapshot "$held")
    start_responder "$fault" || return
    # The renewal goes to a new CA instance: pin it, and keep the identity from the old one.
    expect_status "$name: renew exits $status" "$status" agent renew "$held"
    local renew_status=$STATUS renew_error=$ERR
    expect_text "$name: renew says why" "$ERR" "$text"
    after=$(snapshot "$held")
    if [ "$before" = "$after" ]; then pass "$name: renew left the keystore unchanged"; else fail "$name: renew changed the keystore"; fi
    record "$name" "$renew_status" "$renew_error" \
        "$([ "$before" = "$after" ] && echo unchanged || echo CHANGED)"
}

# The responder sends FAILURE and PENDING as RFC 8894 section 3.3.2 has them: without content.
expect_refusal "FAILURE badRequest"      failure-badrequest        1 "FAILURE badRequest"
expect_refusal "FAILURE badMessageCheck" failure-badmessagecheck   1 "FAILURE badMessageCheck"
expect_refusal "FAILURE badAlg, with text" failure-badalg          1 "FAILURE badAlg (unrecognized or unsupported algorithm): SHA-256 is not supported here"
expect_refusal "FAILURE badTime"         failure-badtime           1 "FAILURE badTime"
expect_refusal "FAILURE badCertId"       failure-badcertid         1 "FAILURE badCertId"
expect_refusal "bad signature"           bad-signature             1 "signature does not verify"
expect_refusal "signer outside the pin"  foreign-signer            1 "does not chain to the pinned CA"
expect_refusal "wrong recipientNonce"    wrong-nonce               1 "recipientNonce does not match"
expect_refusal "wrong transactionID"     wrong-transaction         1 "transactionID does not match"
expect_refusal "wrong messageType"       wrong-message-type        1 "messageType is 19"
expect_refusal "envelope for another"    encrypted-to-someone-else 1 "reply rejected"
expect_refusal "certificate for another key" issued-for-other-key  1 "not for our key"
expect_refusal "truncated reply"         truncated                 1 "malformed reply"
expect_refusal "oversized reply"         oversized                 1 "answer is unusable: HTTP response larger than"
expect_refusal "wrong Content-Type"      wrong-content-type        1 "unexpected Content-Type"
expect_refusal "HTTP 404"                http-404                  1 "HTTP 404"
expect_refusal "HTTP 500"                http-500                  1 "HTTP 500"
expect_refusal "DES-only server"         des-only                  1 "no acceptable content cipher"
expect_refusal "PENDING forever"         pending-forever           3 "polling timed out"
expect_refusal "connection reset"        connection-reset          1 "cannot reach the SCEP server"
AGENT_EXTRA="--timeout 3s"
expect_refusal "slow drip"               slow-drip                 1 "timed out"
AGENT_EXTRA=""
# Numbers past Int32 in GetCACert's answer, before any pin check (SIGILL on armv7hf, once).
expect_refusal "Content-Length 99999999999 (32-bit)" huge-content-length 1 "answer is unusable: HTTP response larger than"
expect_refusal "chunk size 80000000 (32-bit)" huge-chunk       1 "answer is unusable: HTTP response larger than"
expect_refusal "DER length 84 ff ff ff f0 (32-bit)" huge-der-length 1 "malformed reply: GetCACert"

if [ -n "$ONLY" ]; then table_result; finish; exit $?; fi

# A replayed reply: the first enrollment's CertRep again, answering the renewal.
start_responder replay
agent enroll "$SCRATCH/ks-replay" >/dev/null 2>&1 && pass "replay: the first reply is accepted" || fail "replay: setup enroll"
before=$(snapshot "$SCRATCH/ks-replay")
expect_status "replayed reply: renew exits 1" 1 agent renew "$SCRATCH/ks-replay"
expect_text "replayed reply: renew says why" "$ERR" "does not match"
expect_one_line "replayed reply: one line" "$(printf '%s\n' "$ERR" | grep -v 'level=')"
verdict=CHANGED
[ "$before" = "$(snapshot "$SCRATCH/ks-replay")" ] && verdict=unchanged
[ "$verdict" = unchanged ] && pass "replayed reply: keystore unchanged" || fail "replayed reply: keystore changed"
record "replayed reply (the first enrollment's CertRep answering the renewal)" "$STATUS" "$ERR" "$verdict"

# The pin is checked before any PKIOperation is sent.
start_responder none
expect_status "wrong fingerprint exits 1" 1 "$BIN" enroll --url "http://127.0.0.1:$PORT/scep" \
    --ca-fingerprint "$(printf '%064d' 0)" --subject CN=x --keystore "$SCRATCH/ks-pin" --challenge-file "$SCRATCH/challenge"
expect_text "wrong fingerprint prints the expected one" "$ERR" "expected $(printf '%064d' 0)"
expect_text "wrong fingerprint prints the server's" "$ERR" "$(cat "$SCRATCH/responder/ca.sha256")"
if grep -q PKIOperation "$SCRATCH/responder/out.log"; then fail "a PKIOperation was sent despite the wrong pin"; else pass "no PKIOperation sent with a wrong pin"; fi

# Server down: a clear network error, exit 1.
stop_responder
expect_status "server down exits 1" 1 "$BIN" caps --url "http://127.0.0.1:$PORT/scep"
expect_text "server down says so" "$ERR" "cannot reach the SCEP server"

# PENDING twice, then issued: polling succeeds within the timeout.
start_responder pending-twice
expect_status "PENDING then issued exits 0" 0 agent enroll "$SCRATCH/ks-pending" --poll-timeout 30s
expect_text "PENDING is logged" "$ERR" "event=pending"
"$BIN" status --keystore "$SCRATCH/ks-pending" >/dev/null 2>&1 && pass "PENDING then issued committed an identity" || fail "no identity after polling"

# PENDING across a restart: the transaction, its key and its signer are kept in the keystore, and
# the next run polls the same transaction (CertPoll, messageType 20) instead of sending a new one.
start_responder pending-twice
expect_status "PENDING past --poll-timeout exits 3" 3 agent enroll "$SCRATCH/ks-resume" --poll-interval 1s --poll-timeout 1s
[ -s "$SCRATCH/ks-resume/pending" ] && pass "the pending transaction is recorded" || fail "no pending record in the keystore"
before_restart=$(grep -c . "$SCRATCH/responder/operations")
expect_status "the next run resumes and exits 0" 0 agent enroll "$SCRATCH/ks-resume" --poll-timeout 30s
expect_text "the next run says it resumes" "$ERR" "event=\"resuming a pending transaction\""
new_operations=$(tail -n +$((before_restart + 1)) "$SCRATCH/responder/operations" | sort -u | tr '\n' ' ')
[ "$new_operations" = "20 " ] && pass "the restart sent only CertPoll" || fail "the restart sent: $new_operations"
[ ! -e "$SCRATCH/ks-resume/pending" ] && pass "the pending record is gone once issued" || fail "the pending record outlived the issue"

# The same across a SIGKILL of the daemon: `run` resumes the pending transaction on restart.
start_responder pending-twice
# (exec: $! is then the agent itself, not a subshell.)
AGENT_EXEC=exec agent run "$SCRATCH/ks-daemon-pending" --poll-interval 2s --poll-timeout 1h 2>"$SCRATCH/daemon-pending.log" &
daemon=$!
for _ in $(seq 100); do grep -q 'event=pending' "$SCRATCH/daemon-pending.log" && break; sleep 0.1; done
kill -9 "$daemon"; wait "$daemon" 2>/dev/null
[ -s "$SCRATCH/ks-daemon-pending/pending" ] && pass "daemon: the pending transaction survives SIGKILL" || fail "daemon: no pending record after SIGKILL"
"$BIN" status --keystore "$SCRATCH/ks-daemon-pending" >"$SCRATCH/status.out" 2>&1
expect_text "status shows the pending transaction" "$(cat "$SCRATCH/status.out")" "pending_transaction="
before_restart=$(grep -c . "$SCRATCH/responder/operations")
AGENT_EXEC=exec agent run "$SCRATCH/ks-daemon-pending" --poll-interval 1s --poll-timeout 1h 2>"$SCRATCH/daemon-pending2.log" &
daemon=$!
for _ in $(seq 100); do grep -q 'event=enrolled' "$SCRATCH/daemon-pending2.log" && break; sleep 0.1; done
kill "$daemon"; wait "$daemon" 2>/dev/null
expect_text "daemon: the restart picks up the approval" "$(cat "$SCRATCH/daemon-pending2.log")" "event=enrolled"
new_operations=$(tail -n +$((before_restart + 1)) "$SCRATCH/responder/operations" | sort -u | tr '\n' ' ')
[ "$new_operations" = "20 " ] && pass "daemon: the restart sent only CertPoll" || fail "daemon: the restart sent: $new_operations"

# A refused (spent) challenge: the daemon reports it, status says a new one is needed, and SIGHUP
# picks up the new one from the challenge file without a restart.
start_responder none
printf 'spent-challenge\n' > "$SCRATCH/hup-challenge"
chmod 600 "$SCRATCH/hup-challenge"
AGENT_EXEC=exec agent run "$SCRATCH/ks-hup" --challenge-file "$SCRATCH/hup-challenge" --retry-min 30s --retry-max 1h \
    2>"$SCRATCH/daemon-hup.log" &
daemon=$!
for _ in $(seq 100); do grep -q 'event="enrollment failed"' "$SCRATCH/daemon-hup.log" && break; sleep 0.1; done
expect_text "a refused challenge is reported with its failInfo" "$(cat "$SCRATCH/daemon-hup.log")" "FAILURE badRequest"
"$BIN" status --keystore "$SCRATCH/ks-hup" >"$SCRATCH/hup-status.out" 2>&1
expect_text "status says a new challenge is needed" "$(cat "$SCRATCH/hup-status.out")" "challenge=refused"
printf 's3cret\n' > "$SCRATCH/hup-challenge"
kill -HUP "$daemon"
for _ in $(seq 100); do grep -q 'event=enrolled' "$SCRATCH/daemon-hup.log" && break; sleep 0.1; done
expect_text "SIGHUP picks up the new challenge at once" "$(cat "$SCRATCH/daemon-hup.log")" "event=enrolled"
"$BIN" status --keystore "$SCRATCH/ks-hup" >"$SCRATCH/hup-status.out" 2>&1
case "$(cat "$SCRATCH/hup-status.out")" in *challenge=refused*) fail "the refusal note outlived the enrollment" ;; *) pass "the refusal note is gone once enrolled" ;; esac
kill "$daemon"; wait "$daemon" 2>/dev/null

# GET when the server lacks POSTPKIOperation.
start_responder no-post
expect_status "GET PKIOperation exits 0" 0 agent enroll "$SCRATCH/ks-get" --log-level debug
expect_text "GET PKIOperation was used" "$ERR" "method=GET url=\"http://127.0.0.1:$PORT/scep?operation=PKIOperation&message=...\""

# A server that offers only 3DES: refused above; accepted when the operator allows weak crypto.
start_responder des-only
expect_status "DES-only server with --allow-weak-crypto exits 0" 0 agent enroll "$SCRATCH/ks-weak" --allow-weak-crypto
expect_text "3DES in a request is warned about" "$ERR" "sending with DES-EDE3-CBC"

# SHA-1 and DES replies (as micromdm sends) are accepted with warnings.
start_responder none --legacy
expect_status "legacy reply exits 0" 0 agent enroll "$SCRATCH/ks-legacy"
expect_text "SHA-1 reply warns" "$ERR" "signed its reply with SHA-1"
expect_text "DES reply warns" "$ERR" "encrypted its reply with DES-CBC"

# No secret in any output, even at debug level and on failure: not the challenge from a file or
# the environment, not the private key.
start_responder failure-badrequest
printf 'Fil3-Secret-Challenge\n' > "$SCRATCH/secret-challenge"
chmod 600 "$SCRATCH/secret-challenge"
"$BIN" enroll --url "http://127.0.0.1:$PORT/scep" --ca-fingerprint "$(cat "$SCRATCH/responder/ca.sha256")" --subject CN=x \
    --keystore "$SCRATCH/ks-secret" --challenge-file "$SCRATCH/secret-challenge" --log-level debug >"$SCRATCH/secret.out" 2>&1
SCEP_CHALLENGE=Env-Secret-Challenge "$BIN" enroll --url "http://127.0.0.1:$PORT/scep" --ca-fingerprint "$(cat "$SCRATCH/responder/ca.sha256")" \
    --subject CN=x --keystore "$SCRATCH/ks-secret" --log-level debug >>"$SCRATCH/secret.out" 2>&1
grep -q "level=debug" "$SCRATCH/secret.out" && pass "debug output was produced" || fail "no debug output"
grep -qE "Fil3-Secret|Env-Secret|PRIVATE KEY" "$SCRATCH/secret.out" && fail "a secret reached the output" || pass "no challenge or key in the output at debug level"
stop_responder
table_result
finish
