#!/usr/bin/env bash
# A profile-guided build of slotsim on the `dist` profile (Cargo.toml: fat LTO, one
# code-generation unit for this crate, abort on panic): an instrumented build runs
# sweeps of the bundled scenarios, and the compiler then lays out and inlines the code by
# what those runs executed; where BOLT is installed, a second round of the same training
# lays out the linked binary's blocks and functions again (post-link optimization). The
# tables it writes are the same as the plain release build's, byte for byte; only the
# speed differs (BENCHMARKS.md).
#
#   bash scripts/pgo/build.sh        # -> target/pgo/slotsim
#
# Needs `llvm-profdata` of the same LLVM major version as rustc's (`rustc -vV`); on
# Debian 12, `apt-get install llvm-22` for rustc 1.95. `llvm-bolt` and `merge-fdata`
# (Debian 12: `apt-get install bolt-22`) are optional: without them the binary is
# profile-guided only, and the script says so. Two cold `dist` builds: about 20 minutes
# on two cores, and 4 GB of `target/`; run again, it reuses the instrumented build (only
# what changed is rebuilt) and redoes the optimized one whole, since the profile is an
# input of every crate.
set -euo pipefail
cd "$(dirname "$0")/../.."

llvm_major=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
if [[ -z "$llvm_major" ]]; then
    echo "error: cannot tell rustc's LLVM version from 'rustc -vV'" >&2
    exit 1
fi

# The first of `candidates` that runs and reports LLVM version `major` (any version if
# `major` is empty), or nothing.
find_llvm_tool() {
    local major=$1
    shift
    for candidate in "$@"; do
        if command -v "$candidate" > /dev/null 2>&1 \
            && "$candidate" --version 2>/dev/null | grep -q "LLVM version $major"; then
            echo "$candidate"
            return
        fi
    done
}

profdata=$(find_llvm_tool "$llvm_major." "llvm-profdata-$llvm_major" \
    "/usr/lib/llvm-$llvm_major/bin/llvm-profdata" llvm-profdata)
if [[ -z "$profdata" ]]; then
    echo "error: no llvm-profdata of LLVM $llvm_major (rustc's); install it (Debian: apt-get install llvm-$llvm_major) or put it on PATH" >&2
    exit 1
fi
# BOLT reads the linked binary, so its version need not be rustc's; the newest first.
bolt=""
merge_fdata=""
for major in "$llvm_major" $(seq $((llvm_major + 4)) -1 16); do
    bolt=$(find_llvm_tool "" "llvm-bolt-$major" "/usr/lib/llvm-$major/bin/llvm-bolt")
    merge_fdata=$(find_llvm_tool "" "merge-fdata-$major" "/usr/lib/llvm-$major/bin/merge-fdata")
    [[ -n "$bolt" && -n "$merge_fdata" ]] && break
    bolt=""
done
if [[ -z "$bolt" ]]; then
    bolt=$(find_llvm_tool "" llvm-bolt)
    merge_fdata=$(find_llvm_tool "" merge-fdata)
    [[ -n "$merge_fdata" ]] || bolt=""
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The training runs, with the binary `$1`, writing under `$2`: the bundled embassy as the
# benchmarks run it, every policy and lever variant, and each mechanism scenario (their
# six one-line reports silenced).
train() {
    local binary=$1 out=$2
    "$binary" sweep scenarios/embassy.toml --variant base --replications 60 --threads 2 --out "$out/embassy"
    "$binary" sweep scenarios/policies.toml --replications 6 --threads 2 --out "$out/policies"
    for scenario in scenarios/mechanisms/*.toml; do
        "$binary" sweep "$scenario" --replications 4 --threads 2 --out "$out/$(basename "$scenario" .toml)" > /dev/null
    done
}

# A fixed path in the flags, so that running the script again rebuilds only what changed
# of the instrumented build (new flags would rebuild every dependency).
echo "== instrumented build (target/pgo-generate)"
raw="$PWD/target/pgo-generate/profiles"
CARGO_TARGET_DIR=target/pgo-generate RUSTFLAGS="-Cprofile-generate=$raw" cargo build --profile dist --quiet

echo "== training runs"
rm -rf "$raw"
mkdir -p "$raw"
train target/pgo-generate/dist/slotsim "$work/train"

echo "== merging the profile (target/pgo/slotsim.profdata)"
mkdir -p target/pgo
profile="$PWD/target/pgo/slotsim.profdata"
"$profdata" merge -o "$profile.tmp" "$raw"
mv "$profile.tmp" "$profile"

# The linker keeps the relocations, which BOLT needs to move functions.
echo "== optimized build (target/pgo/dist)"
CARGO_TARGET_DIR=target/pgo RUSTFLAGS="-Cprofile-use=$profile -Clink-arg=-Wl,--emit-relocs" \
    cargo build --profile dist --quiet
built=target/pgo/dist/slotsim

if [[ -z "$bolt" ]]; then
    cp "$built" target/pgo/slotsim.tmp
    mv target/pgo/slotsim.tmp target/pgo/slotsim
    echo "note: no llvm-bolt and merge-fdata found (Debian: apt-get install bolt-$llvm_major): the binary is profile-guided only"
    echo "built target/pgo/slotsim"
    exit 0
fi

echo "== post-link optimization ($bolt): instrumented binary, training runs, layout"
"$bolt" "$built" -instrument -instrumentation-file="$work/bolt/profile" -instrumentation-file-append-pid \
    -o "$work/slotsim-instrumented" > "$work/bolt-instrument.log" 2>&1 \
    || { cat "$work/bolt-instrument.log" >&2; exit 1; }
mkdir -p "$work/bolt"
train "$work/slotsim-instrumented" "$work/train-bolt"
"$merge_fdata" "$work"/bolt/profile.*.fdata > "$work/bolt.fdata"
"$bolt" "$built" -o target/pgo/slotsim.tmp -data="$work/bolt.fdata" \
    -reorder-blocks=ext-tsp -reorder-functions=cdsort -split-functions -split-all-cold -split-eh \
    > "$work/bolt-optimize.log" 2>&1 || { cat "$work/bolt-optimize.log" >&2; exit 1; }
mv target/pgo/slotsim.tmp target/pgo/slotsim
echo "built target/pgo/slotsim"
