# Shared helpers for the shell-level tests of the shipped binary. Source it; call `finish` last.
passed=0
failed=0
SCRATCH=$(mktemp -d /tmp/scep-agent-smoke.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ $# -gt 1 ] && printf '     %s\n' "$2"; }

# expect_status NAME STATUS COMMAND...: runs COMMAND, captures stdout/stderr in $OUT/$ERR.
expect_status() {
    local name=$1 want=$2
    shift 2
    "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
    local got=$?
    STATUS=$got
    OUT=$(cat "$SCRATCH/out")
    ERR=$(cat "$SCRATCH/err")
    if [ "$got" -eq "$want" ]; then pass "$name"; else fail "$name" "exit $got, wanted $want; stderr: $ERR"; fi
}

# expect_text NAME HAYSTACK NEEDLE
expect_text() {
    case "$2" in *"$3"*) pass "$1" ;; *) fail "$1" "'$3' not found in: $2" ;; esac
}

# expect_one_line NAME TEXT: a usage error is exactly one line.
expect_one_line() {
    local lines
    lines=$(printf '%s\n' "$2" | grep -c .)
    if [ "$lines" -eq 1 ]; then pass "$1"; else fail "$1" "$lines lines: $2"; fi
}

# expect_static_pie NAME BINARY: the hardening Scripts/build-target.sh links into the glibc builds
# (docs/architecture.md): static-pie (no loader to depend on, a random load address), full RELRO
# (the C library makes the relocated data read-only once it has applied the relocations itself,
# and binds everything at start) and packed relative relocations.
expect_static_pie() {
    local name=$1 binary=$2 headers
    expect_text "$name: file(1) says static-pie linked" "$(file "$binary")" "static-pie linked"
    headers=$(readelf -lhd "$binary" 2>&1)
    expect_text "$name: position-independent (ELF type DYN)" "$headers" "DYN (Position-Independent Executable file)"
    if grep -q INTERP <<<"$headers"; then fail "$name: no program interpreter" "$(grep INTERP <<<"$headers")"
    else pass "$name: no program interpreter"; fi
    expect_text "$name: a GNU_RELRO segment" "$headers" "GNU_RELRO"
    expect_text "$name: bound at start (BIND_NOW)" "$headers" "BIND_NOW"
    expect_text "$name: relative relocations packed (DT_RELR)" "$headers" "(RELR)"
}

# test_port_base: a first port for a test's servers, below the kernel's range of ephemeral ports
# (32768 and up by default), so that no outgoing connection's local port (an agent's, a
# previous scenario's) can hold a port a test server is about to bind. Leaves 1,700 ports above
# it for the scenarios that count up from it.
test_port_base() { echo $((20000 + RANDOM % 11000)); }

# launch_responder OUT ARGS...: starts $RESPONDER (the project's test responder) with ARGS in
# the background, stdout to OUT and stderr (its request log) to OUT.log, sets LAUNCHED_PID, and
# waits until it says "ready"; fails, saying why, when it has not within 10 s.
launch_responder() {
    local out=$1
    shift
    "$RESPONDER" "$@" >"$out" 2>"$out.log" &
    LAUNCHED_PID=$!
    for _ in $(seq 100); do grep -q ready "$out" 2>/dev/null && return 0; sleep 0.1; done
    echo "the test responder did not start: $(cat "$out.log" 2>/dev/null)" >&2
    return 1
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
