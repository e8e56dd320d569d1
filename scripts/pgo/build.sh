#!/usr/bin/env bash
# A profile-guided release build of slotsim: an instrumented build runs sweeps of the
# bundled scenarios, and the compiler then lays out and inlines the code by what those
# runs executed. The tables it writes are the same as the plain release build's, byte for
# byte; only the speed differs (BENCHMARKS.md, ninth session).
#
#   bash scripts/pgo/build.sh        # -> target/pgo/release/slotsim
#
# Needs `llvm-profdata` of the same LLVM major version as rustc's (`rustc -vV`); on
# Debian 12, `apt-get install llvm-22` for rustc 1.95. Two cold release builds: about
# 20 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

llvm_major=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
if [[ -z "$llvm_major" ]]; then
    echo "error: cannot tell rustc's LLVM version from 'rustc -vV'" >&2
    exit 1
fi
profdata=""
for candidate in "llvm-profdata-$llvm_major" "/usr/lib/llvm-$llvm_major/bin/llvm-profdata" llvm-profdata; do
    if command -v "$candidate" > /dev/null 2>&1 \
        && "$candidate" --version 2>/dev/null | grep -q "LLVM version $llvm_major\."; then
        profdata=$candidate
        break
    fi
done
if [[ -z "$profdata" ]]; then
    echo "error: no llvm-profdata of LLVM $llvm_major (rustc's); install it (Debian: apt-get install llvm-$llvm_major) or put it on PATH" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
raw="$work/raw"
mkdir -p "$raw"

echo "== instrumented build (target/pgo-generate)"
CARGO_TARGET_DIR=target/pgo-generate RUSTFLAGS="-Cprofile-generate=$raw" cargo build --release --quiet

echo "== training runs"
trainer=target/pgo-generate/release/slotsim
# The bundled embassy as the benchmarks run it, every policy and lever variant, and each
# mechanism scenario (their six one-line reports silenced).
"$trainer" sweep scenarios/embassy.toml --variant base --replications 60 --threads 2 --out "$work/embassy"
"$trainer" sweep scenarios/policies.toml --replications 6 --threads 2 --out "$work/policies"
for scenario in scenarios/mechanisms/*.toml; do
    "$trainer" sweep "$scenario" --replications 4 --threads 2 --out "$work/$(basename "$scenario" .toml)" > /dev/null
done

echo "== merging the profile (target/pgo/slotsim.profdata)"
mkdir -p target/pgo
profile="$PWD/target/pgo/slotsim.profdata"
"$profdata" merge -o "$profile.tmp" "$raw"
mv "$profile.tmp" "$profile"

echo "== optimized build (target/pgo)"
CARGO_TARGET_DIR=target/pgo RUSTFLAGS="-Cprofile-use=$profile" cargo build --release --quiet
echo "built target/pgo/release/slotsim"
