#!/usr/bin/env bash
# The Slurm round trip: starts a real single-node Slurm cluster (munged, slurmctld, slurmd)
# from a temporary directory, runs scripts/slurm/sweep.sbatch through it as two job arrays,
# merges each one's parts and compares the tables byte for byte with the same sweep run on
# this machine in one go:
#
#   - 3 tasks numbered from 1 (--array=1-3) for a sweep of 4 chunks;
#   - 5 tasks numbered from 0 (--array=0-4) for a sweep of 1 chunk: more tasks than
#     chunks, so part 0 holds the whole sweep's chunk (and keeps it, as a part) and four
#     parts hold none; all must merge all the same.
#
# Stops the daemons it started (by their pid files) whatever happens.
#
#   bash scripts/slurm/roundtrip.sh [SLOTSIM_BINARY]     (default: target/debug/slotsim)
#
# Installs Debian's slurm-wlm and munge when they are missing and root and apt-get are
# available. When it cannot run (no root, no apt-get), it says why and exits 0, or 1 when
# CI is set: CI must run it.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
slotsim=$(realpath "${1:-target/debug/slotsim}")
scenario=$repo/scenarios/mechanisms/legacy.toml

# Cannot run here: a skip, or an error under CI.
cannot_run() {
    if [ -n "${CI:-}" ]; then
        echo "slurm round trip: FAILED: cannot run ($1), and CI is set: CI must run it" >&2
        exit 1
    fi
    echo "slurm round trip: SKIPPED ($1; with CI set this is an error)"
    exit 0
}

have_slurm() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null &&
        command -v munged >/dev/null
}
if ! have_slurm; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing slurm-wlm and munge (for the Slurm round trip)"
        if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null); then
            echo "slurm round trip: FAILED to install slurm-wlm and munge with apt-get" >&2
            exit 1
        fi
    else
        cannot_run "slurm-wlm and munge are not installed, and installing them needs root and apt-get"
    fi
fi
if [ "$(id -u)" != 0 ]; then
    # A single-node cluster from a temporary directory runs its daemons and jobs as the
    # user who starts it; slurmd must be root to launch jobs.
    cannot_run "slurmd must run as root to start jobs"
fi
[ -x "$slotsim" ] || { echo "slurm round trip: no slotsim binary at $slotsim" >&2; exit 1; }

started=$(date +%s%N)
tmp=$(mktemp -d /tmp/slotsim-slurm.XXXXXX)
chmod 700 "$tmp"
stop_daemons() {
    local status=$?
    for name in slurmd slurmctld munged; do
        local pidfile=$tmp/$name.pid
        if [ -s "$pidfile" ]; then
            local pid
            pid=$(cat "$pidfile")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    if [ "$status" != 0 ]; then
        echo "slurm round trip FAILED; the daemons' logs:" >&2
        for log in "$tmp"/*.log; do
            [ -f "$log" ] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }
        done
        for out in "$tmp"/work/slurm-*.out; do
            [ -f "$out" ] && { echo "--- $out" >&2; tail -n 30 "$out" >&2; }
        done
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap stop_daemons EXIT
trap 'exit 130' INT TERM

# Two free TCP ports, so that this cluster never meets another one on this machine.
free_port() {
    local p
    for p in $(shuf -i 20000-60000 -n 200); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    echo "no free port found" >&2
    return 1
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done

host=$(hostname -s)
# The node as slurmd sees it, reached on the loopback address whatever the host name resolves to.
node_line="$(slurmd -C | head -n 1) NodeAddr=127.0.0.1"
mkdir -p "$tmp/state" "$tmp/spool" "$tmp/work"
cat >"$tmp/slurm.conf" <<CONF
ClusterName=slotsimtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$tmp/munge.socket
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
$node_line
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$tmp/slurm.conf

echo "== starting munged, slurmctld, slurmd (ports $ctld_port, $slurmd_port; $tmp)"
dd if=/dev/urandom of="$tmp/munge.key" bs=1024 count=1 status=none
chmod 600 "$tmp/munge.key"
munged --force --key-file="$tmp/munge.key" --socket="$tmp/munge.socket" --pid-file="$tmp/munged.pid" \
    --log-file="$tmp/munged.log" --seed-file="$tmp/munged.seed"
slurmctld -f "$tmp/slurm.conf"
slurmd -f "$tmp/slurm.conf"

state=
for _ in $(seq 120); do
    state=$(sinfo -h -N -n "$host" -o %t 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.5
done
if [ "$state" != idle ]; then
    echo "slurm round trip: node $host did not become idle within 60 s (state: ${state:-none})" >&2
    exit 1
fi

cd "$tmp/work"
# One job array of sweep.sbatch: NAME FIRST LAST REPLICATIONS. Runs tasks FIRST..LAST,
# checks that every part wrote its directory, merges the parts and compares the tables
# with one sweep of REPLICATIONS on this machine.
array_round_trip() {
    local name=$1 first=$2 last=$3 replications=$4
    local tasks=$((last - first + 1))
    echo "== sbatch --wait --array=$first-$last scripts/slurm/sweep.sbatch (${replications} replications)"
    SLOTSIM=$slotsim sbatch --wait --quiet --array="$first-$last" --cpus-per-task=1 --time=10 \
        "$repo/scripts/slurm/sweep.sbatch" "$scenario" "$replications" "$tmp/work/$name/parts"
    local i
    for i in $(seq 0 $((tasks - 1))); do
        [ -f "$name/parts/part-$i/manifest.json" ] || { echo "slurm round trip: $name: part $i wrote nothing" >&2; exit 1; }
        if [ -e "$name/parts/part-$i/summary.csv" ]; then
            echo "slurm round trip: $name: part $i wrote final tables: a part must keep its chunks for merge" >&2
            exit 1
        fi
    done
    # Every chunk the parts wrote (a part keeps its chunks; merge copies them).
    local chunks
    chunks=$(find "$name/parts" -path '*/.chunks/summary-*.parquet' | wc -l)
    "$slotsim" merge "$name"/parts/part-* --out "$name/merged" >/dev/null
    "$slotsim" sweep "$scenario" --replications "$replications" --out "$name/single" >/dev/null 2>&1
    local table
    for table in summary.csv daily.csv; do
        if ! cmp -s "$name/single/$table" "$name/merged/$table"; then
            echo "slurm round trip: $name: merged $table differs from the one-machine sweep's" >&2
            exit 1
        fi
    done
    local rows=$(($(wc -l <"$name/merged/summary.csv") - 1))
    echo "slurm round trip: $name: $tasks array tasks for $chunks chunk(s), $rows summary rows, merged tables byte-identical to one sweep"
}

# 3 variants × 70 seeds: 4 chunks of 64 for 3 tasks, numbered from 1.
array_round_trip fewer-tasks 1 3 70
# 3 variants × 6 seeds: 1 chunk for 5 tasks, numbered from 0. Part 0 holds the whole
# sweep's one chunk and must keep it for merge (not finish as a whole sweep); parts 1 to 4
# hold none.
array_round_trip more-tasks 0 4 6
[ -z "$(ls -A more-tasks/parts/part-4/.chunks 2>/dev/null)" ] ||
    { echo "slurm round trip: part 4 of 5 holds chunks, but a sweep of 1 chunk has none for it" >&2; exit 1; }

# A fit's reference table as a job array of calibrate.sbatch (3 tasks for 5 chunks), then
# the fit on this machine from the parts' chunks: the same files as one fit in one go.
echo "== sbatch --wait --array=0-2 scripts/slurm/calibrate.sbatch (320 simulations)"
"$slotsim" run "$scenario" --seed 7 --out truth >/dev/null
# The observed series: the run's daily bookings and first free day, every other day.
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; print "date,booked,first_free_day"; next }
         NR % 2 == 0 { f = $col["first_free_day"]; print $col["date"] "," $col["booked"] "," (f == "" ? "none" : f) }' \
    truth/daily.csv >observed.csv
fit=(--observed observed.csv --fit demand.arrivals_per_day=5..40 --fit legacy.requests=100..2000 --simulations 320 --predictive 20)
SLOTSIM=$slotsim sbatch --wait --quiet --array=0-2 --cpus-per-task=1 --time=10 \
    "$repo/scripts/slurm/calibrate.sbatch" "$tmp/work/fit-parts" "$scenario" "${fit[@]}"
parts_chunks=$(find fit-parts/.reference -name 'chunk-*.csv' | wc -l)
[ "$parts_chunks" = 5 ] || { echo "slurm round trip: the array wrote $parts_chunks of 5 chunks" >&2; exit 1; }
[ ! -e fit-parts/calibrate.json ] || { echo "slurm round trip: an array task fitted: a part must only simulate" >&2; exit 1; }
"$slotsim" calibrate "$scenario" "${fit[@]}" --out fit-parts >fit-parts.txt
grep -q '320 simulations.*the rest found from an earlier run' fit-parts.txt ||
    { echo "slurm round trip: the fit after the array simulated the table again:" >&2; cat fit-parts.txt >&2; exit 1; }
"$slotsim" calibrate "$scenario" "${fit[@]}" --out fit-single >/dev/null
for f in posterior.csv predictive.csv fitted.toml; do
    cmp -s "fit-single/$f" "fit-parts/$f" ||
        { echo "slurm round trip: $f of the fit from the array's parts differs from one fit's" >&2; exit 1; }
done
echo "slurm round trip: calibrate: 3 array tasks for 5 chunks, the fit from their parts byte-identical to one fit"

elapsed_ms=$((($(date +%s%N) - started) / 1000000))
printf 'slurm round trip: 3 job arrays, tables and fit byte-identical to one machine (%d.%03d s)\n' \
    $((elapsed_ms / 1000)) $((elapsed_ms % 1000))
