#!/usr/bin/env bash
# make bench: scep-agent beside the client a device maker would otherwise pick, against the same
# micromdm scepserver on loopback (in a network namespace of its own when allowed), then the
# daemon's idle cost and the fleet simulation. Prints Markdown tables, and writes them, stamped
# with how and from what they were made, to docs/generated/bench.md (BENCH_TABLE names another
# file; empty: none) once the bench has finished.
#
# The machine is shared and noisy: every figure is a median of RUNS runs; compare the ratios.
#
# Its jobs: the peers (certmonger, strongSwan pki) are in Scripts/lib/bench-peers.sh, the syscall
# tracing in Scripts/lib/bench-trace.sh, micromdm's server in Scripts/lib/scepserver.sh.
set -euo pipefail
INVOCATION="Scripts/bench.sh $*"
BENCH_TABLE=${BENCH_TABLE-$(cd "$(dirname "$0")/.." && pwd)/docs/generated/bench.md}
"$(dirname "$0")/install-deps.sh" --bench
BIN=$(readlink -f "${1:?usage: bench.sh BINARY RESPONDER FLEETSIM}")
RESPONDER=$(readlink -f "${2:?}")
FLEETSIM=$(readlink -f "${3:?}")
RUNS=${RUNS:-31}   # key generation varies by tens of milliseconds: many runs steady the medians
WORK=$(mktemp -d /tmp/scep-agent-bench.XXXXXX)
NS="scep-agent-bench-$$"
PIDS=()
CERTMONGER_REQUEST=
CERTMONGER_UP=
. "$(dirname "$0")/lib/bench-trace.sh"   # TRACING, tracing_restore, client_phases
cleanup() {
    tracing_restore
    # certmonger keeps its requests and CAs under /var/lib/certmonger, even on a private bus.
    if [ -n "$CERTMONGER_UP" ]; then
        [ -n "$CERTMONGER_REQUEST" ] && timeout 10 getcert stop-tracking -s -i "$CERTMONGER_REQUEST" >/dev/null 2>&1
        timeout 10 getcert remove-ca -s -c scep-agent-bench >/dev/null 2>&1
    fi
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"
}
trap cleanup EXIT
. "$(dirname "$0")/lib/scepserver.sh"
loopback_namespace "$NS" || true

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# measure CMD...: prints "milliseconds peak_rss_kib" for one run.
# A command that fails is reported once, with the last line it wrote to stderr.
measure() {
    local start end output rss key
    start=$(date +%s%N)
    if ! output=$("${IN_NS[@]}" /usr/bin/time -f %M "$@" 2>&1 >/dev/null); then
        key=$(printf '%s' "$*" | cksum | cut -d' ' -f1)
        if [ ! -e "$WORK/failed-$key" ]; then
            touch "$WORK/failed-$key"
            echo "# failed (every such run counts as failed): $*" >&2
            echo "#   $(printf '%s\n' "$output" | sed '$d' | grep -v '^Command exited' | tail -n 1)" >&2
        fi
        echo "0 0"
        return
    fi
    end=$(date +%s%N)
    rss=$(printf '%s\n' "$output" | tail -n 1)
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

start_scepserver "$WORK/depot" 8090 bench "$WORK/server.log"
PIDS+=("$SCEPSERVER_PID")
URL=http://127.0.0.1:8090/scep
FP=$CA_FINGERPRINT
printf 'bench\n' > "$WORK/challenge"
chmod 600 "$WORK/challenge"

. "$(dirname "$0")/lib/bench-peers.sh"   # certmonger_enroll, strongswan_existing

declare -A WALL RSS
# run_pair NAME SETUP COMMAND-ARRAY NAME SETUP COMMAND-ARRAY: the two clients alternate run by
# run, so the shared machine's drift during the bench weighs on both alike.
run_pair() {
    local -n first=$3 second=$6
    local times_a=() rss_a=() times_b=() rss_b=() ms rss
    for i in $(seq "$RUNS"); do
        "$2" "$i"; read -r ms rss < <(measure "${first[@]}"); times_a+=("$ms"); rss_a+=("$rss")
        "$5" "$i"; read -r ms rss < <(measure "${second[@]}"); times_b+=("$ms"); rss_b+=("$rss")
    done
    WALL[$1]=$(printf '%s\n' "${times_a[@]}" | median); RSS[$1]=$(printf '%s\n' "${rss_a[@]}" | median)
    WALL[$4]=$(printf '%s\n' "${times_b[@]}" | median); RSS[$4]=$(printf '%s\n' "${rss_b[@]}" | median)
}

# scep-agent: enroll (key generated), renew with the same key, renew with a new key.
# micromdm scepclient: no key (generates one), a key but no certificate, key and certificate.
fresh_full() { rm -rf "$WORK/ks-full"; }
enrolled_one() { [ -d "$WORK/ks-one" ] || "${IN_NS[@]}" "$BIN" enroll --url "$URL" --ca-fingerprint "$FP" --challenge-file "$WORK/challenge" --keystore "$WORK/ks-one" --subject CN=bench-one >/dev/null 2>&1; }
# scepclient keeps the CSR it made in csr.pem beside the key, and reuses it when it finds one:
# each of its three cases has a directory of its own, and every run starts without a CSR, so it
# makes one for the key it is given (a CSR left from another key got certificates issued for that
# key, and renewals refused: "crypto/rsa: verification error").
mkdir -p "$WORK/sc-full" "$WORK/sc-existing" "$WORK/sc-renew"
client_fresh() { rm -f "$WORK/sc-full/c.key" "$WORK/sc-full/c.pem" "$WORK/sc-full/csr.pem"; }
client_key_only() { [ -f "$WORK/sc-existing/k.key" ] || openssl genrsa -traditional -out "$WORK/sc-existing/k.key" 2048 2>/dev/null
                    rm -f "$WORK/sc-existing/k.pem" "$WORK/sc-existing/csr.pem"; }
client_enrolled() {
    [ -f "$WORK/sc-renew/r.pem" ] || { openssl genrsa -traditional -out "$WORK/sc-renew/r.key" 2048 2>/dev/null
        "${IN_NS[@]}" scepclient -server-url "$URL" -challenge bench -private-key "$WORK/sc-renew/r.key" -certificate "$WORK/sc-renew/r.pem" -cn bench-r >/dev/null 2>&1; }
    rm -f "$WORK/sc-renew/csr.pem"
}
AGENT_FULL=("$BIN" enroll --url "$URL" --ca-fingerprint "$FP" --challenge-file "$WORK/challenge" --keystore "$WORK/ks-full" --subject CN=bench-full)
AGENT_EXISTING=("$BIN" renew --url "$URL" --ca-fingerprint "$FP" --challenge-file "$WORK/challenge" --keystore "$WORK/ks-one" --reuse-key)
AGENT_RENEW=("$BIN" renew --url "$URL" --ca-fingerprint "$FP" --challenge-file "$WORK/challenge" --keystore "$WORK/ks-one")
CLIENT_FULL=(scepclient -server-url "$URL" -challenge bench -private-key "$WORK/sc-full/c.key" -certificate "$WORK/sc-full/c.pem" -cn bench-c)
CLIENT_EXISTING=(scepclient -server-url "$URL" -challenge bench -private-key "$WORK/sc-existing/k.key" -certificate "$WORK/sc-existing/k.pem" -cn bench-k)
CLIENT_RENEW=(scepclient -server-url "$URL" -challenge bench -private-key "$WORK/sc-renew/r.key" -certificate "$WORK/sc-renew/r.pem" -cn bench-r)
run_pair agent-full fresh_full AGENT_FULL client-full client_fresh CLIENT_FULL
run_pair agent-existing enrolled_one AGENT_EXISTING client-existing client_key_only CLIENT_EXISTING
run_pair agent-renew enrolled_one AGENT_RENEW client-renew client_enrolled CLIENT_RENEW

# EC keys: first boot with P-256 beside RSA-2048, both against the test responder (micromdm
# answers only with RSA key transport, which an EC key cannot open).
mkdir -p "$WORK/ec-responder"
"${IN_NS[@]}" "$RESPONDER" --port 8092 --fault none --state "$WORK/ec-responder" >"$WORK/ec-responder/out" 2>/dev/null &
PIDS+=($!)
for _ in $(seq 100); do grep -q ready "$WORK/ec-responder/out" 2>/dev/null && break; sleep 0.1; done
printf 's3cret\n' > "$WORK/ec-challenge"
chmod 600 "$WORK/ec-challenge"
EC_ARGS=(--url http://127.0.0.1:8092/scep --ca-fingerprint "$(cat "$WORK/ec-responder/ca.sha256")" --challenge-file "$WORK/ec-challenge")
fresh_p256() { rm -rf "$WORK/ks-p256"; }
fresh_rsa() { rm -rf "$WORK/ks-rsa"; }
AGENT_P256=("$BIN" enroll "${EC_ARGS[@]}" --keystore "$WORK/ks-p256" --subject CN=bench-p256 --key-type ec:p256)
AGENT_RSA=("$BIN" enroll "${EC_ARGS[@]}" --keystore "$WORK/ks-rsa" --subject CN=bench-rsa --key-type rsa:2048)
run_pair agent-p256 fresh_p256 AGENT_P256 agent-rsa fresh_rsa AGENT_RSA

# A device key made inside a TPM (swtpm) beside one in a file, both RSA-2048 against micromdm.
# swtpm is software: the row shows the agent's own cost of the TPM round trips, nothing of a
# real chip's speed (a discrete TPM takes seconds to make an RSA key).
. "$(dirname "$0")/lib/swtpm.sh"
if start_swtpm "$WORK/tpm" 8095 "$WORK/swtpm.log"; then
    PIDS+=("$SWTPM_PID")
    fresh_tpm() { rm -rf "$WORK/ks-tpm"; }
    fresh_file() { rm -rf "$WORK/ks-file"; }
    AGENT_TPM=("$BIN" enroll --url "$URL" --ca-fingerprint "$FP" --challenge-file "$WORK/challenge" --keystore "$WORK/ks-tpm"
               --subject CN=bench-tpm --key-storage tpm --tpm-device "$TPM_DEVICE")
    AGENT_FILE=("$BIN" enroll --url "$URL" --ca-fingerprint "$FP" --challenge-file "$WORK/challenge" --keystore "$WORK/ks-file"
                --subject CN=bench-file)
    run_pair agent-tpm fresh_tpm AGENT_TPM agent-file fresh_file AGENT_FILE
else
    echo "# swtpm did not start: no TPM row" >&2
fi

# Where the agent's time goes in a renewal with the existing key: its own debug timings (the
# HTTP lines time each round trip, network and server included) beside the wall clock.
declare -a PH_START PH_HTTP PH_WORK PH_COMMIT PH_WALL
for i in $(seq "$RUNS"); do
    start=$(date +%s%N)
    "${IN_NS[@]}" "${AGENT_EXISTING[@]}" --log-level debug 2>"$WORK/timings.log" >/dev/null \
        || { echo "# failed: timed renewal" >&2; continue; }
    end=$(date +%s%N)
    # The network process's HTTP lines (each round trip), the key process's commit, and the
    # transaction's total; a timing missing from the log fails the run rather than reading as 0.
    read -r http commit total < <(awk '
        / event="http response" / { for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) http += substr($i, 4) }
        / event=committed / { for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) commit = substr($i, 4) }
        / event=timings / { for (i = 1; i <= NF; i++) if ($i ~ /^total_ms=/) total = substr($i, 10) }
        END { print (http == "" ? "-" : http), (commit == "" ? "-" : commit), (total == "" ? "-" : total) }' "$WORK/timings.log")
    if [ "$http" = - ] || [ "$commit" = - ] || [ "$total" = - ]; then
        echo "# failed: the timed renewal's debug log lacks a timing (http=$http commit=$commit total=$total)" >&2
        continue
    fi
    wall=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", (e - s) / 1e6 }')
    PH_WALL+=("$wall"); PH_HTTP+=("$http"); PH_COMMIT+=("$commit")
    PH_WORK+=("$(awk -v t="$total" -v h="$http" -v c="$commit" 'BEGIN { printf "%.1f", t - h - c }')")
    PH_START+=("$(awk -v w="$wall" -v t="$total" 'BEGIN { printf "%.1f", w - t }')")
done
# client_phases: Scripts/lib/bench-trace.sh.
client_phases > "$WORK/phases"

# One RSA-2048 private operation in the mbedTLS the binary links (make static built it), beside
# OpenSSL's: the agent's protocol work above is mostly three of them.
MBEDTLS_BUILD=$(dirname "$0")/../.build-mbedtls/x86_64-linux-gnu
openssl genrsa -traditional -out "$WORK/rsa.key" 2048 2>/dev/null
RSA_MBEDTLS=n/a
if cc -O2 -I"$MBEDTLS_BUILD/include" '-DMBEDTLS_CONFIG_FILE=<scep-agent-config.h>' "$(dirname "$0")/../Tests/Bench/rsa_private.c" \
      "$MBEDTLS_BUILD/lib/libmbedcrypto.a" -o "$WORK/rsa_private" 2>/dev/null; then
    RSA_MBEDTLS=$("$WORK/rsa_private" "$WORK/rsa.key" 101)
fi
RSA_OPENSSL=$(openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048/ { printf "%.2f", $4 * 1000 }')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == 0 || b == 0) print "n/a"; else printf "%.2fx", a / b }'; }
# A run that failed shows as "failed", never as a figure.
shown() { [ "$1" = 0 ] && echo "failed" || echo "$1 $2"; }
AGENT_SIZE=$(footprint "$BIN"); CLIENT_SIZE=$(footprint "$(command -v scepclient)")

# From here on, what the bench prints to standard output is also its report ($WORK/bench.md).
exec 3>&1 > >(tee "$WORK/bench.md")
TEE_PID=$!
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
echo "## First boot with an EC key (median of $RUNS, the project's test responder on loopback)"
echo
echo "| full enrollment, key generation included | scep-agent | vs scepclient's RSA-2048 above |"
echo "|---|---|---|"
echo "| P-256 | $(shown "${WALL[agent-p256]}" ms) | $(ratio "${WALL[agent-p256]}" "${WALL[client-full]}") |"
echo "| RSA-2048 | $(shown "${WALL[agent-rsa]}" ms) | $(ratio "${WALL[agent-rsa]}" "${WALL[client-full]}") |"
echo
echo "Target (issue 22): a P-256 first boot in at most a third of scepclient's RSA-2048 time (0.33x)."
echo
echo "## A device key inside a TPM (median of $RUNS, swtpm and micromdm scepserver on loopback)"
echo
echo "| full enrollment, RSA-2048 | scep-agent | vs the key in a file |"
echo "|---|---|---|"
echo "| key made and used inside swtpm | $(shown "${WALL[agent-tpm]:-0}" ms) | $(ratio "${WALL[agent-tpm]:-0}" "${WALL[agent-file]:-0}") |"
echo "| key in a file | $(shown "${WALL[agent-file]:-0}" ms) | 1.00x |"
echo
echo "swtpm is a software TPM: these figures show what the agent adds around the TPM commands and"
echo "say nothing about a real chip, where making an RSA key takes seconds and a signature 50 to 200 ms."
echo
certmonger_enroll > "$WORK/certmonger.result"   # not in a subshell: its daemons join PIDS
read -r CM_MS CM_STATUS CM_ERROR < "$WORK/certmonger.result"
if [ "$CM_MS" != 0 ]; then
    echo "certmonger $(certmonger -v 2>&1 | awk '{ print $NF }'), one full enrollment through its D-Bus service (key generation included): $CM_MS ms."
else
    echo "certmonger $(certmonger -v 2>/dev/null | awk '{ print $NF }'): enrollment against micromdm failed ($CM_STATUS${CM_ERROR:+: $CM_ERROR})."
    case "$CM_ERROR" in *"certificate verify error"*)
        echo "micromdm signs its replies with its CA certificate, whose key usage (keyCertSign, cRLSign) fails OpenSSL's"
        echo "S/MIME purpose check, which certmonger's scep-submit applies (openssl cms -verify: \"unsuitable certificate"
        echo "purpose\"; with -purpose any it verifies). scep-agent accepts such replies for interoperability." ;;
    esac
fi
read -r SW_MS SW_DETAIL < <(strongswan_existing)
SW_VERSION=$(pki --help 2>&1 | sed -n 's/^strongSwan \([0-9.]*\) PKI tool.*/\1/p')
if [ "$SW_MS" != 0 ]; then
    echo "strongSwan pki $SW_VERSION, with an existing key ($SW_DETAIL): $SW_MS ms (median of $RUNS)."
else
    echo "strongSwan pki ${SW_VERSION:-}: enrollment with an existing key against micromdm failed ($SW_DETAIL)."
fi
echo "Not measured: sscep (not packaged in Debian 12)."

echo
echo "## Where scep-agent's time goes: renewal with the existing key (median of $RUNS, from its debug timings)"
echo
echo "| part | ms |"
echo "|---|---|"
echo "| process start, keystore opened and identity loaded (wall minus the transaction) | $(printf '%s\n' "${PH_START[@]}" | median) |"
echo "| HTTP round trips: network and the server's work (GetCACaps, GetCACert, PKIOperation) | $(printf '%s\n' "${PH_HTTP[@]}" | median) |"
echo "| the rest of the transaction: the network process started and sandboxed, the messages between the processes, the request built and signed, the reply verified and decrypted | $(printf '%s\n' "${PH_WORK[@]}" | median) |"
echo "| keystore commit: generation written, made durable, read back, pointers swapped | $(printf '%s\n' "${PH_COMMIT[@]}" | median) |"
echo "| wall time | $(printf '%s\n' "${PH_WALL[@]}" | median) |"
if [ -s "$WORK/phases" ]; then
    phase() { awk -v who="$1" -v column="$2" '$1 == who { print $column }' "$WORK/phases" | median; }
    echo
    echo "Both clients with an existing key, phase by phase (median of $(grep -c '^agent ' "$WORK/phases") and $(grep -c '^client ' "$WORK/phases") runs, from syscall tracepoints):"
    echo
    echo "| phase | scep-agent | scepclient |"
    echo "|---|---|---|"
    echo "| exec to the first connect (scepclient also signs its self-signed certificate here) | $(phase agent 2) | $(phase client 2) |"
    echo "| to the PKIOperation sent (GetCACaps, GetCACert, signatures, envelope) | $(phase agent 3) | $(phase client 3) |"
    echo "| the server's answer | $(phase agent 4) | $(phase client 4) |"
    echo "| reply verified and decrypted | $(phase agent 5) | $(phase client 5) |"
    echo "| result written, to exit | $(phase agent 6) | $(phase client 6) |"
    echo "| exec to exit | $(phase agent 7) | $(phase client 7) |"
else
    echo
    echo "Both clients phase by phase: not measured (needs tracefs, as root, with tracing not in use)."
fi
echo
echo "| one RSA-2048 private operation (signature) | ms |"
echo "|---|---|"
echo "| mbedTLS 2.28 as the shipped binary links it (Tests/Bench/rsa_private.c, median of 101) | $RSA_MBEDTLS |"
echo "| OpenSSL $(openssl version | awk '{ print $2 }') (openssl speed rsa2048) | ${RSA_OPENSSL:-n/a} |"

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
chmod 600 "$WORK/rchallenge"
"${IN_NS[@]}" "$BIN" run --url http://127.0.0.1:8091/scep --ca-fingerprint "$(cat "$WORK/responder/ca.sha256")" --subject CN=idle \
    --challenge-file "$WORK/rchallenge" --keystore "$WORK/ks-idle" >/dev/null 2>"$WORK/idle.log" &
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

# The report: standard output back to the terminal, tee given a moment to drain, then the tables
# under their stamp.
exec >&3 3>&-
for _ in $(seq 50); do kill -0 "$TEE_PID" 2>/dev/null || break; sleep 0.1; done
if [ -n "$BENCH_TABLE" ]; then
    . "$(dirname "$0")/lib/generated.sh"
    mkdir -p "$(dirname "$BENCH_TABLE")"
    {
        generated_header "Benchmarks" "make bench"
        echo
        echo "Run as \`RUNS=$RUNS IDLE_SECONDS=$IDLE $INVOCATION\`; binary \`$("$BIN" --version 2>&1 | head -1)\`."
        echo "What is measured and how to read it: [../benchmarks.md](../benchmarks.md)."
        cat "$WORK/bench.md"
    } > "$BENCH_TABLE.tmp.$$"
    mv "$BENCH_TABLE.tmp.$$" "$BENCH_TABLE"
    echo
    echo "bench: the tables are in $BENCH_TABLE"
fi
