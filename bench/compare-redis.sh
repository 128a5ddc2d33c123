#!/usr/bin/env bash
# Throughput and latency of ringkv against redis-server on this machine, in the same run.
#
# Starts four servers on 127.0.0.1:
#   redis         redis-server, no RDB snapshots, no AOF (its fastest, non-durable setting)
#   redis-aof     redis-server --appendonly yes --appendfsync always: Redis's own durable setting,
#                 the like-for-like reference for ringkv's default
#   ringkv-fjall  ringkv defaults: fjall engine, --fsync always (every acknowledged write is on disk)
#   ringkv-memory ringkv --engine memory (nothing persisted: a cache, like the redis setup)
# then runs redis-benchmark against each, ROUNDS times, changing the order of the targets every
# round so that none always runs first or last, and prints the median requests per second and
# median p50 latency of every test, with the ratios ringkv/redis (and ringkv-fjall/redis-aof);
# once as a text table and once as Markdown for docs/benchmarks.md.
#
# Environment (defaults in brackets):
#   ROUNDS [3]           rounds of the whole matrix
#   N                    requests per test for both pipelines (overrides N_P1 and N_P16)
#   N_P1 [200000]        requests per test without pipelining
#   N_P16 [1000000]      requests per test with -P 16
#   CLIENTS [50]         parallel connections (-c)
#   KEYSPACE [100000]    random key space (-r)
#   TESTS [set,get,incr,mset]
#   PIPELINES ["1 16"]
#   REDIS_PORT [16379]  FJALL_PORT [16380]  MEMORY_PORT [16381]  AOF_PORT [16382]
#   RINGKV_BIN           use this ringkv binary instead of building target/release/ringkv
set -euo pipefail

ROUNDS=${ROUNDS:-3}
N_P1=${N:-${N_P1:-200000}}
N_P16=${N:-${N_P16:-1000000}}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
TESTS=${TESTS:-set,get,incr,mset}
PIPELINES=${PIPELINES:-1 16}
REDIS_PORT=${REDIS_PORT:-16379}
FJALL_PORT=${FJALL_PORT:-16380}
MEMORY_PORT=${MEMORY_PORT:-16381}
AOF_PORT=${AOF_PORT:-16382}

BENCH=compare-redis
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- servers -----------------------------------------------------------------------------

start_servers() {
    check_port "$REDIS_PORT" redis REDIS_PORT
    check_port "$FJALL_PORT" ringkv-fjall FJALL_PORT
    check_port "$MEMORY_PORT" ringkv-memory MEMORY_PORT
    check_port "$AOF_PORT" redis-aof AOF_PORT
    mkdir -p "$WORK/redis" "$WORK/aof" "$WORK/fjall" "$WORK/memory"

    (cd "$WORK/redis" && exec redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
        --daemonize no --dir "$WORK/redis" >"$WORK/redis.log" 2>&1) &
    PIDS+=($!)
    wait_ready redis "$REDIS_PORT" "$!" "$WORK/redis.log"

    (cd "$WORK/aof" && exec redis-server --bind 127.0.0.1 --port "$AOF_PORT" --save "" --appendonly yes \
        --appendfsync always --daemonize no --dir "$WORK/aof" >"$WORK/aof.log" 2>&1) &
    PIDS+=($!)
    wait_ready redis-aof "$AOF_PORT" "$!" "$WORK/aof.log"

    RINGKV_LOG=warn "$RINGKV" server --bind 127.0.0.1 --port "$FJALL_PORT" --dir "$WORK/fjall/data" \
        >"$WORK/fjall.log" 2>&1 &
    PIDS+=($!)
    wait_ready ringkv-fjall "$FJALL_PORT" "$!" "$WORK/fjall.log"

    RINGKV_LOG=warn "$RINGKV" server --bind 127.0.0.1 --port "$MEMORY_PORT" --dir "$WORK/memory/data" \
        --engine memory >"$WORK/memory.log" 2>&1 &
    PIDS+=($!)
    wait_ready ringkv-memory "$MEMORY_PORT" "$!" "$WORK/memory.log"
}

# --- benchmark ---------------------------------------------------------------------------

TARGETS=(redis redis-aof ringkv-fjall ringkv-memory)

port_of() {
    case $1 in
        redis) echo "$REDIS_PORT" ;;
        redis-aof) echo "$AOF_PORT" ;;
        ringkv-fjall) echo "$FJALL_PORT" ;;
        ringkv-memory) echo "$MEMORY_PORT" ;;
    esac
}

# --- report ------------------------------------------------------------------------------

# Medians per (test, pipeline, target), then one row per (test, pipeline):
# test|pipeline|redis rps|fjall rps|fjall ratio|memory rps|memory ratio|aof rps|fjall/aof|redis p50|fjall p50|memory p50
summarize() {
    awk -F, "$AWK_MEDIAN"'
        {
            key = $4 SUBSEP $2
            if (!(key in seen)) { seen[key] = 1; order[++rows] = key }
            rps[key, $1] = rps[key, $1] " " $5
            if ($6 != "-") p50[key, $1] = p50[key, $1] " " $6
        }
        END {
            for (r = 1; r <= rows; r++) {
                key = order[r]; split(key, kp, SUBSEP)
                redis = median(rps[key, "redis"]); fjall = median(rps[key, "ringkv-fjall"]); memory = median(rps[key, "ringkv-memory"])
                aof = median(rps[key, "redis-aof"])
                fjall_ratio = (redis > 0) ? sprintf("%.2f", fjall / redis) : "-"
                memory_ratio = (redis > 0) ? sprintf("%.2f", memory / redis) : "-"
                aof_ratio = (aof > 0) ? sprintf("%.2f", fjall / aof) : "-"
                printf "%s|%s|%.0f|%.0f|%s|%.0f|%s|%.0f|%s", kp[1], kp[2], redis, fjall, fjall_ratio, memory, memory_ratio, aof, aof_ratio
                split("redis ringkv-fjall ringkv-memory", names, " ")
                for (t = 1; t <= 3; t++) {
                    m = median(p50[key, names[t]])
                    cellv = (m == "") ? "-" : sprintf("%.3f", m)
                    printf "|%s", cellv
                }
                printf "\n"
            }
        }' "$WORK/results.csv"
}

report() {
    local summary header
    summary=$(summarize)
    header="test|pipeline|redis rps|ringkv-fjall rps|fjall/redis|ringkv-memory rps|memory/redis|redis-aof rps|fjall/redis-aof|redis p50 ms|fjall p50 ms|memory p50 ms"
    echo
    echo "ringkv vs redis-server: median of $ROUNDS round(s), $CLIENTS clients, -r $KEYSPACE, -n $N_P1 (P1) / $N_P16 (P16)"
    echo "$(redis-server --version | awk '{print $1, $2, $3}'); ringkv $("$RINGKV" --version | awk '{print $2}'); $(nproc) CPUs; $(uname -sr)"
    echo
    { echo "$header"; echo "$summary"; } | awk -F'|' '
        { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NF; rows = NR }
        END {
            for (r = 1; r <= rows; r++) {
                line = ""
                for (i = 1; i <= n; i++) {
                    padw = w[i] - length(cell[r, i])
                    pad = sprintf("%" padw "s", "")
                    line = line ((i <= 2) ? cell[r, i] pad : pad cell[r, i]) "  "
                }
                sub(/ +$/, "", line); print line
            }
        }'
    echo
    echo "Markdown:"
    echo
    echo "| ${header//|/ | } |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    while IFS= read -r row; do
        echo "| ${row//|/ | } |"
    done <<<"$summary"
}

install_redis
build_ringkv
start_servers
run_rotating
report
