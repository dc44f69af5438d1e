#!/usr/bin/env bash
# make demo: what the shipped binary is and does. Grows as the agent does (enroll and renew
# against a local SCEP server come with the protocol engine).
set -euo pipefail
BIN=${1:?usage: demo.sh BINARY}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "the binary"
file "$BIN"
ls -l "$BIN"

step "$BIN --version"
"$BIN" --version

step "$BIN --help"
"$BIN" --help

step "a mistake is one clear line and exit status 2"
set +e
"$BIN" enroll --url ftp://example.invalid/
echo "exit status: $?"
