#!/usr/bin/env bash
# The shipped binary itself: fully static, stripped, small, and its command line behaves.
set -u
BIN=$(readlink -f "$1")
. "$(dirname "$0")/../lib/checks.sh"

# Issues 2 and 20: at most 1.8 MB on x86_64, the TPM code included (issue 21 allowed it up to
# 120 KB more, which Package.swift's size passes made unneeded; `make feature-cost` measures both).
MAX_BYTES=1800000

info=$(file "$BIN")
expect_text "file(1) says stripped" "$info" ", stripped"
expect_static_pie "x86_64" "$BIN"
# The linker discards the unwind tables (Scripts/lib/no-unwind-tables.ld) rather than strip.
if grep -qE '\.eh_frame' < <(readelf -SW "$BIN"); then fail "no unwind tables"; else pass "no unwind tables"; fi
size=$(stat -c %s "$BIN")
if [ "$size" -le "$MAX_BYTES" ]; then pass "size $size <= $MAX_BYTES"; else fail "size $size > $MAX_BYTES"; fi

expect_status "--version exits 0" 0 "$BIN" --version
expect_text "--version names the embedded build" "$OUT" "embedded build"
expect_status "--help exits 0" 0 "$BIN" --help
expect_text "--help lists every command" "$OUT" "caps"
for command in getca enroll renew run status; do expect_text "--help lists $command" "$OUT" "  $command "; done
expect_status "COMMAND --help exits 0" 0 "$BIN" getca --help
expect_text "getca --help names --out" "$OUT" "--out FILE"

expect_status "unknown command exits 2" 2 "$BIN" frobnicate
expect_text "unknown command is named" "$ERR" "unknown command 'frobnicate'"
expect_one_line "unknown command error is one line" "$ERR"

expect_status "unknown option exits 2" 2 "$BIN" caps --frob
expect_text "unknown option is named" "$ERR" "unknown option '--frob'"
expect_one_line "unknown option error is one line" "$ERR"

expect_status "malformed option value exits 2" 2 "$BIN" caps --url http://127.0.0.1/ --poll-interval soon
expect_text "malformed value names the option" "$ERR" "--poll-interval: expected a duration"

printf 'url = http://127.0.0.1:1/scep\nthis line is wrong\n' > "$SCRATCH/bad.conf"
expect_status "malformed config line exits 2" 2 "$BIN" --config "$SCRATCH/bad.conf" caps
expect_text "malformed config line names file and line" "$ERR" "bad.conf:2: expected 'key = value'"
expect_one_line "config error is one line" "$ERR"

printf 'colour = blue\n' > "$SCRATCH/unknown.conf"
expect_status "unknown config key exits 2" 2 "$BIN" --config "$SCRATCH/unknown.conf" status
expect_text "unknown config key is named" "$ERR" "unknown.conf:1: unknown key 'colour'"

expect_status "missing config file exits 2" 2 "$BIN" --config "$SCRATCH/absent.conf" status
expect_text "missing config file is named" "$ERR" "absent.conf"

expect_status "missing required option exits 2" 2 "$BIN" getca --url http://127.0.0.1:1/
expect_text "missing required option is named" "$ERR" "'getca' needs --ca-fingerprint"

finish
