#!/usr/bin/env bash
# Two ringkv builds as 3-node clusters side by side: throughput and the CPU the three nodes
# spend per request, in alternating rounds.
#
# Starts one 3-node cluster of each build (release binaries, 64 shards, every shard on all
# three nodes, --fsync always) and runs `redis-benchmark --cluster` against each in turn,
# starting with the other build each round. Besides requests per second it reads the user
# and system CPU time of the three node processes (/proc/PID/stat) before and after each run:
# CPU per request moves much less than throughput on a shared machine, and includes what the
# nodes do in the background (memtable flushes, compactions) while the run lasts. Prints the
# median of each build, and the change from BEFORE to AFTER.
#
# Environment (defaults in brackets):
#   BEFORE_BIN, AFTER_BIN   the two ringkv binaries (required)
#   ROUNDS [5]  N [1500000]  PIPELINE [16]  TESTS [set]  CLIENTS [50]  KEYSPACE [100000]
#   SHARDS [64]  BASE_PORT [17300]   the clusters' client ports follow it
set -euo pipefail

ROUNDS=${ROUNDS:-5}
N=${N:-1500000}
PIPELINE=${PIPELINE:-16}
TESTS=${TESTS:-set}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
SHARDS=${SHARDS:-64}
BASE_PORT=${BASE_PORT:-17300}

BENCH=compare-cluster-builds
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -x "${BEFORE_BIN:-}" ] || die "set BEFORE_BIN to a ringkv binary"
[ -x "${AFTER_BIN:-}" ] || die "set AFTER_BIN to a ringkv binary"
install_redis

declare -A BIN_OF=([before]=$BEFORE_BIN [after]=$AFTER_BIN)
declare -A PORT_OF=([before]=$BASE_PORT [after]=$((BASE_PORT + 10)))
declare -A NODES_OF

# start_cluster BUILD: its three nodes on the three client ports from PORT_OF[BUILD].
start_cluster() {
    local i
    for i in 0 1 2; do check_port "$((${PORT_OF[$1]} + i))" "$1 node $((i + 1))" BASE_PORT; done
    start_static_cluster "${BIN_OF[$1]}" "${PORT_OF[$1]}" "$1"
    NODES_OF[$1]=$CLUSTER_PIDS
}

# cpu_ticks PIDS: user plus system CPU time of the processes, in clock ticks.
cpu_ticks() {
    local pid total=0
    for pid in $1; do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done
    echo "$total"
}

start_cluster before
start_cluster after
HZ=$(getconf CLK_TCK)
: >"$WORK/results.csv"
for round in $(seq 1 "$ROUNDS"); do
    for build in $([ $((round % 2)) = 1 ] && echo "before after" || echo "after before"); do
        log "round $round/$ROUNDS: $build"
        before_ticks=$(cpu_ticks "${NODES_OF[$build]}")
        redis-benchmark --cluster -h 127.0.0.1 -p "${PORT_OF[$build]}" -t "$TESTS" -c "$CLIENTS" \
            -P "$PIPELINE" -r "$KEYSPACE" -n "$N" --csv >"$WORK/run.csv" 2>"$WORK/bench.err" ||
            die "redis-benchmark failed against $build: $(tail -5 "$WORK/bench.err")"
        after_ticks=$(cpu_ticks "${NODES_OF[$build]}")
        awk -F'","' -v build="$build" -v ticks=$((after_ticks - before_ticks)) -v hz="$HZ" -v n="$N" '
            !/^"/ { next }
            { gsub(/^"|"\r?$/, "") }
            $1 != "test" { printf "%s,%s,%s,%.2f\n", build, $1, $2, ticks * 1e6 / hz / n }
        ' "$WORK/run.csv" >>"$WORK/results.csv"
    done
done

echo "before: $BEFORE_BIN"
echo "after:  $AFTER_BIN"
echo
awk -F, -v pipeline="$PIPELINE" "$AWK_MEDIAN"'
    {
        if (!($2 in seen)) { seen[$2] = 1; order[++rows] = $2 }
        rps[$2, $1] = rps[$2, $1] " " $3; cpu[$2, $1] = cpu[$2, $1] " " $4
    }
    END {
        printf "| test | before rps | after rps | change | before CPU µs/request | after CPU µs/request | change |\n"
        printf "|---|---:|---:|---:|---:|---:|---:|\n"
        for (r = 1; r <= rows; r++) {
            t = order[r]
            a = median(rps[t, "before"]); b = median(rps[t, "after"])
            c = median(cpu[t, "before"]); d = median(cpu[t, "after"])
            printf "| %s -P %s | %.0f | %.0f | %+.0f%% | %.1f | %.1f | %+.0f%% |\n", t, pipeline, a, b,
                (a > 0 ? (b / a - 1) * 100 : 0), c, d, (c > 0 ? (d / c - 1) * 100 : 0)
        }
    }' "$WORK/results.csv"
