#!/usr/bin/env bash
# Paired comparison of two slotsim binaries on every bundled scenario and policy: the
# re-validation a change of the model's behaviour needs (see docs/validation.md).
#
#   bash scripts/validate/paired.sh OLD_BINARY NEW_BINARY OUT_DIR [REPLICATIONS]
#
# For each bundled scenario, a copy with four more variants (pol_fcfs, pol_waitlist,
# pol_priority, pol_lottery: the base under each policy) is swept by both binaries with the
# same seeds (REPLICATIONS, default 2000, on 2 threads); scripts/validate/paired.py pairs
# the rows by variant and seed and prints, per variant and metric, the mean paired
# difference's z where |z| > 3, then how many stayed within noise. OUT_DIR keeps the
# sweeps, OUT_DIR/NAME.paired.csv every comparison and OUT_DIR/summary.txt the counts. A
# sweep already in OUT_DIR is reused, so an interrupted run resumes.
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,14p "$0"; exit 2; }
old=$(realpath "$1"); new=$(realpath "$2"); out=$3; reps=${4:-2000}
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
mkdir -p "$out/scenarios"
policies='
[[variant]]
name = "pol_fcfs"
set = { "allocation.policy" = "fcfs" }

[[variant]]
name = "pol_waitlist"
set = { "allocation.policy" = "waitlist" }

[[variant]]
name = "pol_priority"
set = { "allocation.policy" = "priority" }

[[variant]]
name = "pol_lottery"
set = { "allocation.policy" = "lottery" }
'
: > "$out/summary.txt"
for file in "$root"/scenarios/*.toml "$root"/scenarios/mechanisms/*.toml; do
    name=$(basename "$file" .toml)
    scenario=$out/scenarios/$name.toml
    # policies.toml already compares the policies; the others get the four variants.
    if grep -q '"allocation.policy" = "lottery"' "$file"; then cp "$file" "$scenario"; else
        { cat "$file"; printf '%s' "$policies"; } > "$scenario"; fi
    for b in old new; do
        dir=$out/$name.$b
        [ -f "$dir/summary.csv" ] && continue
        bin=$old; [ $b = new ] && bin=$new
        "$bin" sweep "$scenario" --replications "$reps" --threads 2 --out "$dir" >/dev/null
    done
    python3 "$here/paired.py" "$out/$name.old/summary.csv" "$out/$name.new/summary.csv" \
        --label "$name" --out "$out/$name.paired.csv" | tee "$out/$name.paired.txt" | tail -1 | tee -a "$out/summary.txt"
done
