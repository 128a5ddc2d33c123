#!/usr/bin/env bash
# Throughput and latency of a 3-node ringkv cluster (every shard replicated 3 times with Raft,
# each write fsynced on a majority) against a 3-master Redis Cluster (no replicas, no RDB, no
# AOF unless REDIS_FSYNC says so), on this machine, in the same run.
#
# redis-benchmark --cluster drives both: it reads CLUSTER NODES and sends every key to the
# node that owns its slot (for ringkv, the shard's Raft leader). Rounds alternate which target
# runs first; the script prints median requests per second, p50 and p99 latency per test, and
# the ratio ringkv/redis, as text and as Markdown for docs/benchmarks.md.
#
# Environment (defaults in brackets):
#   ROUNDS [3]  N_P1 [100000]  N_P16 [400000]  CLIENTS [50]  KEYSPACE [100000]
#   TESTS [set,get]  PIPELINES ["1 16"]  SHARDS [64]
#   REDIS_BASE [17001]  RINGKV_BASE [17101]   (three consecutive client ports each;
#                                              ringkv's cluster ports are these + 10000)
#   RINGKV_BIN   use this binary instead of building target/release/ringkv
#   REDIS_FSYNC [none]  "always" gives every Redis master an append-only file fsynced on each
#                       write (--appendonly yes --appendfsync always): a single durable copy
#                       per key, for comparison with ringkv's three replicas
set -euo pipefail

ROUNDS=${ROUNDS:-3}
N_P1=${N_P1:-100000}
N_P16=${N_P16:-400000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
TESTS=${TESTS:-set,get}
PIPELINES=${PIPELINES:-1 16}
SHARDS=${SHARDS:-64}
REDIS_BASE=${REDIS_BASE:-17001}
RINGKV_BASE=${RINGKV_BASE:-17101}
REDIS_FSYNC=${REDIS_FSYNC:-none}

BENCH=compare-cluster
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_redis
build_ringkv

start_redis_cluster() {
    local i port nodes=() persistence=(--appendonly no)
    case $REDIS_FSYNC in
        none) ;;
        always) persistence=(--appendonly yes --appendfsync always) ;;
        *) die "REDIS_FSYNC is none or always, not $REDIS_FSYNC" ;;
    esac
    for i in 0 1 2; do
        port=$((REDIS_BASE + i))
        mkdir -p "$WORK/redis$i"
        (cd "$WORK/redis$i" && exec redis-server --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
            --cluster-config-file nodes.conf --save "" "${persistence[@]}" >"$WORK/redis$i.log" 2>&1) &
        PIDS+=($!)
        wait_for 30 "redis on $port" redis-cli -p "$port" ping
        nodes+=("127.0.0.1:$port")
    done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$WORK/create.log" 2>&1 ||
        die "redis-cli --cluster create failed: $(cat "$WORK/create.log")"
    wait_for 30 "redis cluster ok" sh -c "redis-cli -p $REDIS_BASE cluster info | grep -q cluster_state:ok"
}

# Appends "target,pipeline,test,rps,p50,p99" rows from one redis-benchmark --csv run.
record() {
    awk -F'","' -v target="$1" -v pipeline="$2" '
        { gsub(/^"|"\r?$/, "") }
        $1 == "test" { for (i = 1; i <= NF; i++) col[$i] = i; next }
        NF >= 2 { printf "%s,%s,%s,%s,%s,%s\n", target, pipeline, $1, $(col["rps"]), $(col["p50_latency_ms"]), $(col["p99_latency_ms"]) }
    ' "$3" >>"$WORK/results.csv"
}

run() {
    local round pipeline n target port csv
    : >"$WORK/results.csv"
    for round in $(seq 1 "$ROUNDS"); do
        for pipeline in $PIPELINES; do
            if [ "$pipeline" = 1 ]; then n=$N_P1; else n=$N_P16; fi
            for target in $([ $((round % 2)) = 1 ] && echo "redis ringkv" || echo "ringkv redis"); do
                if [ "$target" = redis ]; then port=$REDIS_BASE; else port=$RINGKV_BASE; fi
                csv="$WORK/$target-$pipeline-$round.csv"
                log "round $round/$ROUNDS: $target -P $pipeline -n $n"
                redis-benchmark --cluster -h 127.0.0.1 -p "$port" -t "$TESTS" -c "$CLIENTS" -P "$pipeline" \
                    -r "$KEYSPACE" -n "$n" --csv >"$csv" 2>"$WORK/bench.err" ||
                    die "redis-benchmark failed against $target: $(tail -5 "$WORK/bench.err")"
                record "$target" "$pipeline" "$csv"
            done
        done
    done
}

report() {
    awk -F, "$AWK_MEDIAN"'
        {
            key = $3 " -P " $2
            if (!(key in seen)) { seen[key] = 1; order[++rows] = key }
            rps[key, $1] = rps[key, $1] " " $4; p50[key, $1] = p50[key, $1] " " $5; p99[key, $1] = p99[key, $1] " " $6
        }
        END {
            printf "| test | Redis Cluster rps | ringkv rps | ratio | Redis p50/p99 ms | ringkv p50/p99 ms |\n|---|---:|---:|---:|---:|---:|\n"
            for (r = 1; r <= rows; r++) {
                k = order[r]; a = median(rps[k, "redis"]); b = median(rps[k, "ringkv"])
                printf "| %s | %.0f | %.0f | %.2f | %s / %s | %s / %s |\n", k, a, b, (a > 0 ? b / a : 0),
                    median(p50[k, "redis"]), median(p99[k, "redis"]), median(p50[k, "ringkv"]), median(p99[k, "ringkv"])
            }
        }' "$WORK/results.csv"
}

start_redis_cluster
start_static_cluster "$RINGKV" "$RINGKV_BASE" ringkv
run
report
