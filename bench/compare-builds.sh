#!/usr/bin/env bash
# Throughput of two ringkv builds side by side, with redis-server as the common reference:
# what a change did, measured the way compare-redis.sh measures ringkv.
#
# Starts redis-server (no RDB snapshots, no AOF) and, for each engine in ENGINES, one server
# of each build with its defaults otherwise (fjall: --fsync always). Every round runs
# redis-benchmark against every server in turn, starting with the next server each round, and
# the script prints, per test, pipeline depth and engine, the median requests per second of
# each build, the change from BEFORE to AFTER, and each build's ratio to redis. Single runs
# move by ±10% on a small machine; alternating the builds in one run is what makes a
# difference between them measurable.
#
# Environment (defaults in brackets):
#   BEFORE_BIN, AFTER_BIN   the two ringkv binaries (required)
#   ROUNDS [3]  N_P1 [200000]  N_P16 [1000000]  CLIENTS [50]  KEYSPACE [100000]
#   TESTS [set,get,incr,mset]  PIPELINES ["1 16"]  ENGINES ["memory fjall"]
#   BASE_PORT [16480]       redis on it, the ringkv servers on the ports after it
set -euo pipefail

ROUNDS=${ROUNDS:-3}
N_P1=${N_P1:-200000}
N_P16=${N_P16:-1000000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
TESTS=${TESTS:-set,get,incr,mset}
PIPELINES=${PIPELINES:-1 16}
ENGINES=${ENGINES:-memory fjall}
BASE_PORT=${BASE_PORT:-16480}

BENCH=compare-builds
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -x "${BEFORE_BIN:-}" ] || die "set BEFORE_BIN to the ringkv binary before the change"
[ -x "${AFTER_BIN:-}" ] || die "set AFTER_BIN to the ringkv binary after the change"
install_redis

# Servers are named "redis" and "<build>-<engine>"; their ports, in TARGETS order.
TARGETS=(redis)
for engine in $ENGINES; do TARGETS+=("before-$engine" "after-$engine"); done

port_of() {
    local i
    for i in "${!TARGETS[@]}"; do
        if [ "${TARGETS[$i]}" = "$1" ]; then echo $((BASE_PORT + i)); fi
    done
}

start_servers() {
    local target port bin
    for target in "${TARGETS[@]}"; do
        port=$(port_of "$target")
        check_port "$port" "$target" BASE_PORT
        mkdir -p "$WORK/$target"
        case $target in
            redis) (cd "$WORK/redis" && exec redis-server --bind 127.0.0.1 --port "$port" --save "" \
                --appendonly no --daemonize no >"$WORK/redis.log" 2>&1) & ;;
            *)
                if [ "${target%%-*}" = before ]; then bin=$BEFORE_BIN; else bin=$AFTER_BIN; fi
                RINGKV_LOG=warn "$bin" server --bind 127.0.0.1 --port "$port" --dir "$WORK/$target/data" \
                    --engine "${target#*-}" >"$WORK/$target.log" 2>&1 &
                ;;
        esac
        PIDS+=($!)
        wait_ready "$target" "$port" "$!" "$WORK/$target.log"
    done
}

report() {
    echo
    echo "ringkv builds: median of $ROUNDS round(s), $CLIENTS clients, -r $KEYSPACE, -n $N_P1 (P1) / $N_P16 (P16)"
    echo "before: $BEFORE_BIN"
    echo "after:  $AFTER_BIN"
    echo "$(redis-server --version | awk '{print $1, $2, $3}'); $(nproc) CPUs; $(uname -sr)"
    echo
    echo "| test | pipeline | engine | redis rps | before rps | after rps | change | before/redis | after/redis |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
    awk -F, -v engines="$ENGINES" "$AWK_MEDIAN"'
        {
            key = $4 SUBSEP $2
            if (!(key in seen)) { seen[key] = 1; order[++rows] = key }
            rps[key, $1] = rps[key, $1] " " $5
        }
        END {
            n = split(engines, engine, " ")
            for (r = 1; r <= rows; r++) {
                key = order[r]; split(key, kp, SUBSEP); redis = median(rps[key, "redis"])
                for (e = 1; e <= n; e++) {
                    before = median(rps[key, "before-" engine[e]]); after = median(rps[key, "after-" engine[e]])
                    printf "| %s | %s | %s | %.0f | %.0f | %.0f | %+.0f%% | %.2f | %.2f |\n", kp[1], kp[2], engine[e],
                        redis, before, after, (before > 0 ? (after / before - 1) * 100 : 0),
                        (redis > 0 ? before / redis : 0), (redis > 0 ? after / redis : 0)
                }
            }
        }' "$WORK/results.csv"
}

start_servers
run_rotating
report
