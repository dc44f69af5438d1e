#!/usr/bin/env bash
# The counts of one `make test` run, read from its output, into docs/generated/test-counts.md.
# `make test` keeps its output in .build/make-test.log and calls this at the end.
#
#   Scripts/test-counts.sh LOG [OUT [STATUS]]
#
# What it reads, each under the heading that precedes it in the log:
#   - the unit tests: swift-testing's summary ("Test run with N tests in M suites passed ..."),
#     once under `swift test` (make unit-test) and once under `swift test --sanitize=address`
#     (make asan), which make echoes as it runs them;
#   - every shell suite's last line, "N passed, M failed", under the "== NAME" line that the
#     Makefile or the suite's runner prints before it;
#   - the fuzz targets' summary rows (make fuzz-smoke) and the layering check's verdict.
# STATUS is make's exit status for the run (a failed run stops early: the table says so).
# It never fails: whatever it cannot read is left out, and an unreadable log gives a file
# that says so. Nothing here runs a test.
set -u
log=${1:?usage: test-counts.sh LOG [OUT [STATUS]]}
out=${2:-docs/generated/test-counts.md}
status=${3:-}
. "$(dirname "$0")/lib/generated.sh"

rows=()          # "suite|what ran|result"
section="(before any heading)"
fuzz_ok=0 fuzz_bad=0 shell_passed=0 shell_failed=0
declare -A seen
add_row() { # SUITE WHAT RESULT
    local name=$1 n=2
    # A second count under the same heading (a suite run twice) gets its own row.
    while [ -n "${seen[$name]:-}" ]; do name="$1 ($n)"; n=$((n + 1)); done
    seen[$name]=1
    rows+=("$name|$2|$3")
}

# The fuzz targets' row, once their summary has been read (at the next heading, or the end).
flush_fuzz() {
    [ $((fuzz_ok + fuzz_bad)) -gt 0 ] || return 0
    add_row "fuzz targets (make fuzz-smoke: seeds replayed, a few seconds each)" "$((fuzz_ok + fuzz_bad)) targets" \
        "$fuzz_ok ok, $fuzz_bad crashed"
    fuzz_ok=0 fuzz_bad=0
}

if [ -r "$log" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%$'\r'}
        if [[ $line =~ ^==\ (.+)$ ]]; then
            [[ $section == "fuzz targets" && ${BASH_REMATCH[1]} != fuzz\ * ]] && flush_fuzz
            section=${BASH_REMATCH[1]}
            # "== fuzz der for 5s (4 seeds)": the fuzz targets are counted from their summary rows.
            [[ $section == fuzz\ * ]] && section="fuzz targets"
        elif [[ $line =~ (^|[[:space:]/])swift\ test([[:space:]]|$) ]]; then
            if [[ $line == *--sanitize=address* ]]; then section="unit tests under AddressSanitizer (make asan)"
            else section="unit tests (swift test)"; fi
        elif [[ $line =~ Test\ run\ with\ ([0-9]+)\ tests?\ in\ ([0-9]+)\ suites?\ (passed|failed) ]]; then
            what="${BASH_REMATCH[1]} tests in ${BASH_REMATCH[2]} suites"
            result=${BASH_REMATCH[3]}
            [[ $line =~ with\ ([0-9]+)\ issues? ]] && result="$result, ${BASH_REMATCH[1]} issues"
            add_row "$section" "$what" "$result"
        elif [[ $line =~ ^Test\ run\ with\ ([0-9]+)\ tests?\ (passed|failed) ]]; then
            add_row "$section" "${BASH_REMATCH[1]} tests" "${BASH_REMATCH[2]}"
        elif [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
            add_row "$section" "$((BASH_REMATCH[1] + BASH_REMATCH[2])) checks" "${BASH_REMATCH[1]} passed, ${BASH_REMATCH[2]} failed"
            shell_passed=$((shell_passed + BASH_REMATCH[1])); shell_failed=$((shell_failed + BASH_REMATCH[2]))
        elif [[ $line =~ ^\|\ [a-z0-9]+\ \|\ [0-9]+\ \|\ [0-9?]+\ \|\ [0-9]+\ \+\ [0-9]+\ \|\ (.*)\ \|$ ]]; then
            if [ "${BASH_REMATCH[1]}" = ok ]; then fuzz_ok=$((fuzz_ok + 1)); else fuzz_bad=$((fuzz_bad + 1)); fi
        elif [[ $line =~ ^layering:\ (ok|[0-9]+\ violation) ]]; then
            add_row "layering (Scripts/check-layers.sh)" "every rule" "${BASH_REMATCH[1]}"
        fi
    done < "$log"
fi
flush_fuzz

tmp="$out.tmp.$$"
mkdir -p "$(dirname "$out")" 2>/dev/null
{
    generated_header "Test counts" "make test"
    echo
    if [ ! -r "$log" ]; then
        echo "No output of \`make test\` was found at \`$log\`: nothing to count."
    else
        case "$status" in
            "") ;;
            0) echo "The run passed (exit status 0)." ;;
            *) echo "The run **failed** (exit status $status): make stops at the first failing suite, so the suites after it are missing below." ;;
        esac
        echo "Read by \`Scripts/test-counts.sh\` from the run's output; what each suite checks: [../testing.md](../testing.md)."
        echo
        echo "| suite | what ran | result |"
        echo "|---|---|---|"
        for row in "${rows[@]}"; do
            IFS='|' read -r name what result <<< "$row"
            printf '| %s | %s | %s |\n' "$name" "$what" "$result"
        done
        echo
        echo "Shell suites together: $shell_passed passed, $shell_failed failed."
    fi
} > "$tmp" 2>/dev/null && mv "$tmp" "$out" && echo "test counts: $out" && exit 0
rm -f "$tmp" 2>/dev/null
echo "test-counts.sh: could not write $out" >&2
exit 0
