# make bench's other peers (sourced by Scripts/bench.sh): certmonger on a private D-Bus and
# strongSwan's pki, each against the bench's micromdm scepserver. Uses bench.sh's WORK, PIDS,
# IN_NS, URL, RUNS, measure, median; sets CERTMONGER_UP and CERTMONGER_REQUEST for its cleanup.

# certmonger is a D-Bus service: here on a private bus of the bench's own, in the server's
# network namespace, enrolling once (key generation included) through its scep-submit helper.
# Prints "milliseconds status [error]"; every call is bounded, since certmonger also takes a
# machine-wide lock (/var/lib/certmonger/lock) that a running system certmonger would hold.
certmonger_enroll() {
    command -v certmonger >/dev/null && command -v dbus-daemon >/dev/null || { echo "0 not-installed"; return; }
    mkdir -p "$WORK/cm/home"
    printf '%s\n' '<busconfig><type>session</type><listen>unix:path='"$WORK"'/cm/bus</listen><auth>EXTERNAL</auth>' \
        '<policy context="default"><allow send_destination="*"/><allow receive_sender="*"/><allow own="*"/></policy></busconfig>' \
        > "$WORK/cm/bus.conf"
    dbus-daemon --config-file="$WORK/cm/bus.conf" --fork --print-pid > "$WORK/cm/bus.pid" || { echo "0 no-bus"; return; }
    PIDS+=("$(cat "$WORK/cm/bus.pid")")
    export DBUS_SESSION_BUS_ADDRESS=unix:path=$WORK/cm/bus
    "${IN_NS[@]}" env DBUS_SESSION_BUS_ADDRESS="$DBUS_SESSION_BUS_ADDRESS" HOME="$WORK/cm/home" \
        timeout 300 certmonger -s -n -B >/dev/null 2>&1 &
    PIDS+=($!)
    local up=
    for _ in $(seq 20); do timeout 2 getcert list-cas -s >/dev/null 2>&1 && { up=1; break; }; sleep 0.25; done
    [ -n "$up" ] || { echo "0 did-not-start (is another certmonger running on this machine?)"; return; }
    CERTMONGER_UP=1
    timeout 10 getcert add-scep-ca -s -c scep-agent-bench -u "$URL" -R "$WORK/depot/ca.pem" >/dev/null 2>&1 \
        || { echo "0 add-scep-ca-failed"; return; }
    local start end output
    start=$(date +%s%N)
    output=$(timeout 60 getcert request -s -c scep-agent-bench -k "$WORK/cm/key.pem" -f "$WORK/cm/cert.pem" -N CN=bench-cm -L bench -w 2>&1) || true
    end=$(date +%s%N)
    CERTMONGER_REQUEST=$(printf '%s\n' "$output" | sed -n 's/^New signing request "\(.*\)" added.*/\1/p')
    local listing status error
    listing=$(timeout 10 getcert list -s -i "$CERTMONGER_REQUEST" 2>/dev/null) || true
    status=$(printf '%s\n' "$listing" | sed -n 's/^[[:space:]]*status: //p')
    error=$(printf '%s\n' "$listing" | sed -n 's/^[[:space:]]*ca-error: //p')
    if [ "$status" = MONITORING ] && [ -s "$WORK/cm/cert.pem" ]; then
        echo "$(( (end - start) / 1000000 )) $status"
    else
        echo "0 ${status:-unknown} $error"
    fi
}

# strongSwan's pki enrolls with a key it is given (it generates none): the existing-key case.
# Tries its default cipher (AES), then 3DES; with the first that enrolls, prints the median of
# RUNS runs in ms; else "0" and each attempt's last error line.
strongswan_existing() {
    command -v pki >/dev/null || { echo "0 not installed"; return; }
    [ -f "$WORK/sw.key" ] || openssl genrsa -traditional -out "$WORK/sw.key" 2048 2>/dev/null
    local command=(pki --scep --url "$URL" --in "$WORK/sw.key" --dn CN=bench-sw --password bench
                   --cacert-enc "$WORK/depot/ca.pem" --cacert-sig "$WORK/depot/ca.pem" --outform pem)
    local cipher errors=() times=() ms rss
    for cipher in aes des3; do
        if "${IN_NS[@]}" timeout 30 "${command[@]}" --cipher "$cipher" >"$WORK/sw.pem" 2>"$WORK/sw.err" && [ -s "$WORK/sw.pem" ]; then
            for _ in $(seq "$RUNS"); do read -r ms rss < <(measure "${command[@]}" --cipher "$cipher"); times+=("$ms"); done
            echo "$(printf '%s\n' "${times[@]}" | median) $cipher"
            return
        fi
        errors+=("$cipher: $(grep -v '^plugin\|TPM 2.0' "$WORK/sw.err" | tail -n 1)")
    done
    echo "0 $(IFS=';'; echo "${errors[*]}" | sed 's/;/; /g')"
}
