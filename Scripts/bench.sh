#!/usr/bin/env bash
# make bench: scep-agent beside the client a device maker would otherwise pick, against the same
# micromdm scepserver on loopback (in a network namespace of its own when allowed), then the
# daemon's idle cost and the fleet simulation. Prints Markdown tables.
#
# The machine is shared and noisy: every figure is a median of RUNS runs; compare the ratios.
set -euo pipefail
BIN=$(readlink -f "${1:?usage: bench.sh BINARY RESPONDER FLEETSIM}")
RESPONDER=$(readlink -f "${2:?}")
FLEETSIM=$(readlink -f "${3:?}")
RUNS=${RUNS:-11}
WORK=$(mktemp -d /tmp/scep-agent-bench.XXXXXX)
NS="scep-agent-bench-$$"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
if ip netns add "$NS" 2>/dev/null; then ip -n "$NS" link set lo up; IN_NS=(ip netns exec "$NS"); else IN_NS=(); fi

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# measure CMD...: prints "milliseconds peak_rss_kib" for one run.
measure() {
    local start end rss
    start=$(date +%s%N)
    if ! rss=$("${IN_NS[@]}" /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1); then
        echo "# failed: $*" >&2
        echo "0 0"
        return
    fi
    end=$(date +%s%N)
    echo "$(( (end - start) / 1000000 )) $rss"
}
# footprint BINARY: the binary plus the shared libraries it loads, in bytes.
footprint() {
    local total
    total=$(stat -c %s "$1")
    for lib in $(ldd "$1" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
        total=$((total + $(stat -L -c %s "$lib")))
    done
    echo "$total"
}

scepserver ca -init -depot "$WORK/depot" >/dev/null 2>&1
"${IN_NS[@]}" scepserver -depot "$WORK/depot" -port 8090 -challenge bench -allowrenew 0 >/dev/null 2>&1 &
PIDS+=($!)
URL=http://127.0.0.1:8090/scep
for _ in $(seq 50); do "${IN_NS[@]}" "$BIN" caps --url "$URL" >/dev/null 2>&1 && break; sleep 0.1; done
FP=$(openssl x509 -in "$WORK/depot/ca.pem" -outform DER | sha256sum | cut -d' ' -f1)
printf 'bench\n' > "$WORK/challenge"

declare -A WALL RSS
run_series() { # NAME SETUP-FUNCTION COMMAND-FUNCTION
    local name=$1 times=() rsses=()
    for i in $(seq "$RUNS"); do
        "$2" "$i"
        read -r ms rss < <(measure "${@:3}")
        times+=("$ms"); rsses+=("$rss")
    done
    WALL[$name]=$(printf '%s\n' "${times[@]}" | median)
    RSS[$name]=$(printf '%s\n' "${rsses[@]}" | median)
}

# scep-agent: enroll (key generated), renew with the same key, renew with a new key.
fresh_full() { rm -rf "$WORK/ks-full"; }
run_series agent-full fresh_full "$BIN" enroll --url "$URL" --ca-fingerprint "$FP" --challenge-file "$WORK/challenge" --keystore "$WORK/ks-full" --subject CN=bench-full
enrolled_one() { [ -d "$WORK/ks-one" ] || "${IN_NS[@]}" "$BIN" enroll --url "$URL" --ca-fingerprint "$FP" --challenge-file "$WORK/challenge" --keystore "$WORK/ks-one" --subject CN=bench-one >/dev/null 2>&1; }
run_series agent-existing enrolled_one "$BIN" renew --url "$URL" --ca-fingerprint "$FP" --challenge-file "$WORK/challenge" --keystore "$WORK/ks-one" --reuse-key
run_series agent-renew enrolled_one "$BIN" renew --url "$URL" --ca-fingerprint "$FP" --challenge-file "$WORK/challenge" --keystore "$WORK/ks-one"

# micromdm scepclient: no key (generates one), a key but no certificate, key and certificate (renewal).
client_fresh() { rm -f "$WORK/c.key" "$WORK/c.pem"; }
client_key_only() { [ -f "$WORK/k.key" ] || openssl genrsa -traditional -out "$WORK/k.key" 2048 2>/dev/null; rm -f "$WORK/k.pem"; }
client_enrolled() { [ -f "$WORK/r.pem" ] || { openssl genrsa -traditional -out "$WORK/r.key" 2048 2>/dev/null; "${IN_NS[@]}" scepclient -server-url "$URL" -challenge bench -private-key "$WORK/r.key" -certificate "$WORK/r.pem" -cn bench-r >/dev/null 2>&1; }; }
run_series client-full client_fresh scepclient -server-url "$URL" -challenge bench -private-key "$WORK/c.key" -certificate "$WORK/c.pem" -cn bench-c
run_series client-existing client_key_only scepclient -server-url "$URL" -challenge bench -private-key "$WORK/k.key" -certificate "$WORK/k.pem" -cn bench-k
run_series client-renew client_enrolled scepclient -server-url "$URL" -challenge bench -private-key "$WORK/r.key" -certificate "$WORK/r.pem" -cn bench-r

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == 0 || b == 0) print "n/a"; else printf "%.2fx", a / b }'; }
# A run that failed shows as "failed", never as a figure.
shown() { [ "$1" = 0 ] && echo "failed" || echo "$1 $2"; }
AGENT_SIZE=$(footprint "$BIN"); CLIENT_SIZE=$(footprint "$(command -v scepclient)")
echo
echo "## scep-agent beside micromdm scepclient (median of $RUNS, micromdm scepserver on loopback)"
echo
echo "| figure | scep-agent | scepclient 2.1.0 | ratio |"
echo "|---|---|---|---|"
echo "| on disk, with the shared libraries it loads | $AGENT_SIZE B | $CLIENT_SIZE B | $(ratio "$AGENT_SIZE" "$CLIENT_SIZE") |"
echo "| peak RSS, full enrollment | $(shown "${RSS[agent-full]}" KiB) | $(shown "${RSS[client-full]}" KiB) | $(ratio "${RSS[agent-full]}" "${RSS[client-full]}") |"
echo "| full enrollment, 2048-bit keygen included | $(shown "${WALL[agent-full]}" ms) | $(shown "${WALL[client-full]}" ms) | $(ratio "${WALL[agent-full]}" "${WALL[client-full]}") |"
echo "| with an existing key | $(shown "${WALL[agent-existing]}" ms) | $(shown "${WALL[client-existing]}" ms) | $(ratio "${WALL[agent-existing]}" "${WALL[client-existing]}") |"
echo "| renewal (scep-agent: RenewalReq, new key; scepclient: existing certificate) | $(shown "${WALL[agent-renew]}" ms) | $(shown "${WALL[client-renew]}" ms) | $(ratio "${WALL[agent-renew]}" "${WALL[client-renew]}") |"
echo
echo "Not measured: certmonger (needs a D-Bus system bus, absent here); sscep (not packaged in Debian 12);"
echo "strongSwan pki (Debian 12's fails against micromdm, per the project notes)."

# Every target's static binary (make cross puts them beside the host's).
DIST=$(dirname "$BIN")
echo
echo "## The static binary per target (stripped, everything it needs to run)"
echo
echo "| target | bytes | budget | vs scepclient (x86_64) |"
echo "|---|---|---|---|"
for entry in "x86_64-linux-gnu|$BIN|1,800,000" "aarch64-linux-gnu|$DIST/aarch64-linux-gnu/scep-agent|" \
             "arm-linux-gnueabihf|$DIST/arm-linux-gnueabihf/scep-agent|" "x86_64-linux-musl-tiny|$DIST/x86_64-linux-musl-tiny/scep-agent|700,000"; do
    IFS='|' read -r target file budget <<< "$entry"
    if [ -f "$file" ]; then size=$(stat -c %s "$file"); else size=0; fi
    [ "$size" = 0 ] && echo "| $target | not built (make cross) | ${budget:--} | |" && continue
    echo "| $target | $size | ${budget:--} | $(ratio "$size" "$CLIENT_SIZE") |"
done

# The daemon's idle cost: a one-day certificate, so it sleeps until renewal.
mkdir -p "$WORK/responder"
"${IN_NS[@]}" "$RESPONDER" --port 8091 --lifetime 86400 --state "$WORK/responder" >"$WORK/responder/out" 2>/dev/null &
PIDS+=($!)
for _ in $(seq 100); do grep -q ready "$WORK/responder/out" 2>/dev/null && break; sleep 0.1; done
printf 's3cret\n' > "$WORK/rchallenge"
"${IN_NS[@]}" "$BIN" run --url http://127.0.0.1:8091/scep --ca-fingerprint "$(cat "$WORK/responder/ca.sha256")" --subject CN=idle \
    --challenge-file "$WORK/rchallenge" --keystore "$WORK/ks-idle" 2>"$WORK/idle.log" &
DAEMON=$!; PIDS+=($DAEMON)
for _ in $(seq 100); do grep -q event=enrolled "$WORK/idle.log" && break; sleep 0.1; done
sleep 1
IDLE=${IDLE_SECONDS:-20}
t0=$(awk '{ print $14 + $15 }' /proc/$DAEMON/stat); w0=$(awk '/ctxt_switches/ { s += $2 } END { print s }' /proc/$DAEMON/status)
sleep "$IDLE"
t1=$(awk '{ print $14 + $15 }' /proc/$DAEMON/stat); w1=$(awk '/ctxt_switches/ { s += $2 } END { print s }' /proc/$DAEMON/status)
rss=$(awk '/VmRSS/ { print $2 }' /proc/$DAEMON/status)
echo
echo "## The daemon while it waits for the next renewal ($IDLE s sampled)"
echo
echo "| figure | value |"
echo "|---|---|"
echo "| wake-ups per hour | $(( (w1 - w0) * 3600 / IDLE )) |"
echo "| CPU ticks while waiting | $((t1 - t0)) |"
echo "| RSS | $rss KiB |"
echo "| static binary, stripped | $(stat -c %s "$BIN") B |"

echo
echo "## Fleet renewal load (the agent's scheduling code, simulated clock)"
echo
"$FLEETSIM"
