#!/usr/bin/env bash
# `scep-agent run` end to end, against the test responder issuing 60-second certificates:
# unattended renewals with new keys, a published certificate that is always valid, backoff
# while the server is down, SIGTERM within 2 s, no CPU while waiting, one instance per keystore,
# SIGHUP reload, and the hook.
#
#   Tests/Interop/daemon.sh BINARY RESPONDER
set -u
BIN=$(readlink -f "$1")
RESPONDER=$(readlink -f "$2")
. "$(dirname "$0")/../lib/checks.sh"

PORT=$(test_port_base)
RESPONDER_PID=
DAEMON_PID=
cleanup() {
    [ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null
    [ -n "$RESPONDER_PID" ] && kill "$RESPONDER_PID" 2>/dev/null
    rm -rf "$SCRATCH"
}
trap cleanup EXIT
start_responder() { # LIFETIME
    mkdir -p "$SCRATCH/responder"
    launch_responder "$SCRATCH/responder/out" --port "$PORT" --fault none --lifetime "$1" --state "$SCRATCH/responder" \
        --max-requests 100000
    RESPONDER_PID=$LAUNCHED_PID
}
start_responder 60
printf 's3cret\n' > "$SCRATCH/challenge"
chmod 600 "$SCRATCH/challenge"
KS="$SCRATCH/ks"
PUB="$SCRATCH/pub"
mkdir -p "$PUB"
cat > "$SCRATCH/agent.conf" <<CONF
url = http://127.0.0.1:$PORT/scep
ca-fingerprint = $(cat "$SCRATCH/responder/ca.sha256")
subject = CN=dev-0042,O=Acme
challenge-file = $SCRATCH/challenge
keystore = $KS
cert-out = $PUB/cert.pem
key-out = $PUB/key.pem
renew-before = 33%
retry-min = 5s
retry-max = 20s
poll-interval = 1s
metrics-file = $SCRATCH/metrics.prom
hook = echo "\$SCEP_AGENT_SERIAL \$SCEP_AGENT_NOT_AFTER" >> $SCRATCH/hook.log
CONF

"$BIN" --config "$SCRATCH/agent.conf" run 2>"$SCRATCH/daemon.log" &
DAEMON_PID=$!

# Watch for two minutes: the published certificate, whenever present, must be valid now.
invalid=0; samples=0
for _ in $(seq 240); do
    if [ -s "$PUB/cert.pem" ]; then
        samples=$((samples + 1))
        openssl x509 -in "$PUB/cert.pem" -noout -checkend 0 >/dev/null 2>&1 || invalid=$((invalid + 1))
        openssl x509 -in "$PUB/cert.pem" -noout -serial -pubkey 2>/dev/null | sha256sum >> "$SCRATCH/seen"
    fi
    sleep 0.5
done
renewals=$(grep -c 'event=renewed' "$SCRATCH/daemon.log")
[ "$renewals" -ge 2 ] && pass "renewed unattended $renewals times within 2 minutes" || fail "only $renewals renewals: $(tail -5 "$SCRATCH/daemon.log")"
grep -q 'event=enrolled' "$SCRATCH/daemon.log" && pass "enrolled on first start" || fail "no enrollment"
[ "$(grep -c 'new_key=yes' "$SCRATCH/daemon.log")" -ge 3 ] && pass "each renewal with a new key" || fail "a key was reused"
[ "$samples" -gt 100 ] && [ "$invalid" -eq 0 ] && pass "the published certificate was valid in all $samples samples" \
    || fail "$invalid of $samples samples invalid"
[ "$(wc -l < "$SCRATCH/hook.log" 2>/dev/null)" -ge 3 ] && pass "the hook ran after each commit" || fail "hook ran $(wc -l < "$SCRATCH/hook.log" 2>/dev/null) times"

# Monitoring: the metrics file names the certificate in service and no failures.
metric() { sed -n "s/^scep_agent_$1 //p" "$SCRATCH/metrics.prom" 2>/dev/null; }
published_not_after=$(date -d "$(openssl x509 -in "$PUB/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
[ "$(metric certificate_not_after_seconds)" = "$published_not_after" ] && pass "metrics: not-after of the certificate in service" \
    || fail "metrics: not-after $(metric certificate_not_after_seconds), published $published_not_after"
[ "$(metric consecutive_failures)" = 0 ] && [ "$(metric last_success_timestamp_seconds)" -gt 0 ] \
    && pass "metrics: a last success and no failures" || fail "metrics: $(cat "$SCRATCH/metrics.prom" 2>/dev/null | grep -v '^#')"
expect_status "status --check with no identity exits 13" 13 "$BIN" status --check --keystore "$SCRATCH/no-such-keystore"

# Server down: back off (a few attempts a minute), keep the identity, renew when it is back.
kill "$RESPONDER_PID"; wait "$RESPONDER_PID" 2>/dev/null
before=$(grep -c 'event="renewal failed"' "$SCRATCH/daemon.log")
sleep 40
attempts=$(( $(grep -c 'event="renewal failed"' "$SCRATCH/daemon.log") - before ))
# Backoff waits lie in the upper half of their ceiling, the first ceiling being retry-min (5 s):
# never under 2 s, whatever the certificate's remaining life.
shortest=$(grep 'event="renewal failed"' "$SCRATCH/daemon.log" | tail -n "$attempts" | sed -n 's/.*retry_in=\([0-9]*\)s.*/\1/p' | sort -n | head -1)
[ "$attempts" -ge 1 ] && [ "$attempts" -le 9 ] && [ "${shortest:-0}" -ge 2 ] \
    && pass "backed off while the server was down ($attempts attempts in 40 s, none sooner than ${shortest}s)" \
    || fail "$attempts attempts in 40 s, the shortest wait ${shortest:-?}s"
"$BIN" status --keystore "$KS" >/dev/null 2>&1 && pass "the identity stayed in service" || fail "status failed during the outage"
# A watchdog sees it: the last attempt failed (or, once the 60-second certificate ran out, expired).
"$BIN" status --check --keystore "$KS" >"$SCRATCH/check.out" 2>&1; check=$?
if grep -q '^valid=yes' "$SCRATCH/check.out"; then want=11; else want=12; fi
[ "$check" -eq "$want" ] && pass "status --check during the outage exits $want" || fail "status --check exited $check, wanted $want: $(cat "$SCRATCH/check.out")"
[ "$(metric consecutive_failures)" -ge 1 ] && pass "metrics: consecutive failures during the outage" || fail "metrics: no failures counted"
renewed_before=$(grep -c 'event=renewed' "$SCRATCH/daemon.log")
start_responder 60
for _ in $(seq 60); do [ "$(grep -c 'event=renewed' "$SCRATCH/daemon.log")" -gt "$renewed_before" ] && break; sleep 0.5; done
[ "$(grep -c 'event=renewed' "$SCRATCH/daemon.log")" -gt "$renewed_before" ] && pass "renewed once the server was back" \
    || fail "no renewal after the server came back"

# One instance per keystore.
expect_status "a second instance refuses to start" 1 "$BIN" --config "$SCRATCH/agent.conf" run
expect_text "it says why" "$ERR" "in use by another scep-agent (pid $DAEMON_PID)"

# SIGHUP reloads the configuration.
kill -HUP "$DAEMON_PID"
sleep 0.5
grep -q 'event="configuration reloaded"' "$SCRATCH/daemon.log" && pass "SIGHUP reloads the configuration" || fail "no reload"

# SIGTERM: exit 0 within 2 seconds.
kill -TERM "$DAEMON_PID"
start=$(date +%s%N)
wait "$DAEMON_PID"; status=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
DAEMON_PID=
[ "$status" -eq 0 ] && [ "$elapsed" -le 2000 ] && pass "SIGTERM: exit 0 after $elapsed ms" || fail "SIGTERM: exit $status after $elapsed ms"

# Idle: with a long-lived certificate the daemon sleeps until renewal, using no CPU at all.
kill "$RESPONDER_PID"; wait "$RESPONDER_PID" 2>/dev/null
start_responder 86400
rm -rf "$KS"
"$BIN" --config "$SCRATCH/agent.conf" run 2>"$SCRATCH/idle.log" &
DAEMON_PID=$!
for _ in $(seq 50); do grep -q 'event=enrolled' "$SCRATCH/idle.log" && break; sleep 0.2; done
sleep 1
ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat"; }
switches() { awk '/ctxt_switches/ { sum += $2 } END { print sum }' "/proc/$DAEMON_PID/status"; }
cpu0=$(ticks); wake0=$(switches)
sleep 10
cpu1=$(ticks); wake1=$(switches)
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status")
echo "# idle for 10 s: $((cpu1 - cpu0)) CPU ticks, $((wake1 - wake0)) context switches, RSS ${rss} KiB"
[ $((cpu1 - cpu0)) -eq 0 ] && pass "no CPU while waiting for the next renewal" || fail "$((cpu1 - cpu0)) ticks while idle"
[ $((wake1 - wake0)) -eq 0 ] && pass "no wake-ups while waiting" || fail "$((wake1 - wake0)) wake-ups while idle"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=

finish
