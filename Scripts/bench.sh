#!/usr/bin/env bash
# make bench: a Markdown table of what a device maker pays for the agent.
# Figures come from a shared, noisy machine: medians of several runs; compare ratios, not absolutes.
set -euo pipefail
BIN=$(readlink -f "${1:?usage: bench.sh BINARY}")
RUNS=${RUNS:-21}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

wall_us=()
rss_kib=()
for _ in $(seq "$RUNS"); do
    start=$(date +%s%N)
    "$BIN" --version >/dev/null
    end=$(date +%s%N)
    wall_us+=($(( (end - start) / 1000 )))
    rss_kib+=("$(/usr/bin/time -f %M "$BIN" --version 2>&1 >/dev/null | tail -n 1)")
done

size=$(stat -c %s "$BIN")
wall=$(printf '%s\n' "${wall_us[@]}" | median)
rss=$(printf '%s\n' "${rss_kib[@]}" | median)

echo "| metric | scep-agent | note |"
echo "|---|---|---|"
printf '| static binary, stripped | %s bytes (%s MB) | target <= 1.8 MB; micromdm scepclient 5.29 MB |\n' \
    "$size" "$(awk -v b="$size" 'BEGIN { printf "%.2f", b / 1e6 }')"
printf '| `--version` wall time | %s us | median of %s runs |\n' "$wall" "$RUNS"
printf '| `--version` peak RSS | %s KiB | median of %s runs |\n' "$rss" "$RUNS"
