#!/usr/bin/env bash
# The memory estimate against the measured peak (GNU time's maximum resident set size)
# for `run`, a one-replication sweep and a 4-replication sweep on 2 threads of each
# scaled scenario (scripts/memory/scaled.py). Prints one line per case.
#
#   bash scripts/memory/measure.sh [SLOTSIM_BINARY]     (default: target/release/slotsim)
set -euo pipefail
cd "$(dirname "$0")/../.."
slotsim=$(realpath "${1:-target/release/slotsim}")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 scripts/memory/scaled.py "$dir" >/dev/null
for f in x1-365 x4-365 x16-365 x1-1825 x4-1825 x16-1825; do
    for mode in "run" "sweep 1 1" "sweep 4 2"; do
        set -- $mode
        if [ "$1" = run ]; then
            args=(run "$dir/$f.toml" --out "$dir/out")
        else
            args=(sweep "$dir/$f.toml" --variant base --replications "$2" --threads "$3" --out "$dir/out")
        fi
        rm -rf "$dir/out"
        estimate=$("$slotsim" "${args[@]}" --max-memory 1K 2>&1 | grep -o "estimated peak is [0-9.]* [A-Za-z]*" || true)
        rm -rf "$dir/out"
        measured=$(/usr/bin/time -f "%M" "$slotsim" "${args[@]}" 2>&1 >/dev/null | tail -n 1)
        echo "$f | $mode | ${estimate#estimated peak is } | measured peak $((measured / 1024)) MiB"
    done
done
