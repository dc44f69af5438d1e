#!/usr/bin/env bash
# Runs every smoke test against the binary given, and totals the results.
set -u
BIN=${1:?usage: run-all.sh BINARY}
status=0
for test in "$(dirname "$0")"/[a-z]*.sh; do
    # debug-build.sh checks the normal-mode build, not this binary: make unit-test runs it.
    case "$test" in */run-all.sh|*/debug-build.sh) continue ;; esac
    echo "== $(basename "$test")"
    bash "$test" "$BIN" || status=1
done
exit $status
