#!/usr/bin/env bash
# Puts the generated header (Scripts/lib/generated.sh) above a table that a command printed to a
# file of its own, and writes the result under docs/generated/. For commands that cannot be
# changed to write there themselves (make fuzz: Tests/Fuzz/fuzz.sh's .build-fuzz/summary.md).
#
#   Scripts/lib/wrap-generated.sh TITLE COMMAND INPUT OUTPUT
set -euo pipefail
title=${1:?usage: wrap-generated.sh TITLE COMMAND INPUT OUTPUT}
command=${2:?}
input=${3:?}
output=${4:?}
. "$(dirname "$0")/generated.sh"
mkdir -p "$(dirname "$output")"
{ generated_header "$title" "$command"; echo; cat "$input"; } > "$output.tmp.$$"
mv "$output.tmp.$$" "$output"
echo "written: $output"
