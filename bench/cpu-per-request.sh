#!/usr/bin/env bash
# CPU time each server spends per request, ringkv against redis-server, in the same run.
#
# Throughput on a shared 2-core machine moves with whatever else runs on it; the CPU a server
# process uses per request (user + system, from /proc/PID/stat) moves much less, and says how
# far a server is from the other when both get the same core. Starts redis-server (no
# persistence), ringkv --engine memory and ringkv with its defaults, each with one thread
# serving clients (--threads 1, so the numbers compare one event loop with another), runs redis-benchmark against
# each ROUNDS times, alternating, and prints the median nanoseconds per request.
#
# Environment (defaults in brackets):
#   ROUNDS [3]  N [1000000]  CLIENTS [50]  KEYSPACE [100000]  PIPELINE [16]
#   TESTS [set get incr]
#   REDIS_PORT [16379]  MEMORY_PORT [16381]  FJALL_PORT [16380]
#   RINGKV_BIN  use this ringkv binary instead of building target/release/ringkv
set -euo pipefail

ROUNDS=${ROUNDS:-3}
N=${N:-1000000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
PIPELINE=${PIPELINE:-16}
TESTS=${TESTS:-set get incr}
REDIS_PORT=${REDIS_PORT:-16379}
MEMORY_PORT=${MEMORY_PORT:-16381}
FJALL_PORT=${FJALL_PORT:-16380}

BENCH=cpu-per-request
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# cpu_us PID: user and system CPU of PID so far, in microseconds.
cpu_us() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%d %d\n", $14 * 1e6 / hz, $15 * 1e6 / hz }' "/proc/$1/stat"
}

install_redis
build_ringkv
mkdir -p "$WORK/redis" "$WORK/memory" "$WORK/fjall"
check_port "$REDIS_PORT" redis REDIS_PORT
check_port "$MEMORY_PORT" ringkv-memory MEMORY_PORT
check_port "$FJALL_PORT" ringkv-fjall FJALL_PORT
(cd "$WORK/redis" && exec redis-server --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$WORK/redis" >"$WORK/redis.log" 2>&1) &
PIDS+=($!)
declare -A PID_OF=([redis]=$!)
RINGKV_LOG=warn "$RINGKV" server --threads 1 --port "$MEMORY_PORT" --engine memory \
    --dir "$WORK/memory/data" >"$WORK/memory.log" 2>&1 &
PIDS+=($!)
PID_OF[ringkv-memory]=$!
RINGKV_LOG=warn "$RINGKV" server --threads 1 --port "$FJALL_PORT" \
    --dir "$WORK/fjall/data" >"$WORK/fjall.log" 2>&1 &
PIDS+=($!)
PID_OF[ringkv-fjall]=$!
declare -A PORT_OF=([redis]=$REDIS_PORT [ringkv-memory]=$MEMORY_PORT [ringkv-fjall]=$FJALL_PORT)
for target in redis ringkv-memory ringkv-fjall; do
    wait_ready "$target" "${PORT_OF[$target]}" "${PID_OF[$target]}" "$WORK/${target#ringkv-}.log"
done

TARGETS=(redis ringkv-memory ringkv-fjall)
: >"$WORK/results"
for round in $(seq 1 "$ROUNDS"); do
    for test in $TESTS; do
        for i in "${!TARGETS[@]}"; do
            target=${TARGETS[$(((round - 1 + i) % ${#TARGETS[@]}))]}
            log "round $round/$ROUNDS: $test against $target"
            read -r user0 sys0 < <(cpu_us "${PID_OF[$target]}")
            redis-benchmark -p "${PORT_OF[$target]}" -t "$test" -c "$CLIENTS" -P "$PIPELINE" \
                -r "$KEYSPACE" -n "$N" -q >/dev/null 2>&1 || die "redis-benchmark failed against $target"
            read -r user1 sys1 < <(cpu_us "${PID_OF[$target]}")
            echo "$test $target $(((user1 - user0) * 1000 / N)) $(((sys1 - sys0) * 1000 / N))" >>"$WORK/results"
        done
    done
done

echo
echo "CPU per request (ns, median of $ROUNDS; user + system = total), -c $CLIENTS -P $PIPELINE -r $KEYSPACE -n $N, one thread each"
echo
echo "| test | redis | ringkv-memory | memory/redis | ringkv-fjall | fjall/redis |"
echo "|---|---:|---:|---:|---:|---:|"
awk "$AWK_MEDIAN"'
    { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } total[$1, $2] = total[$1, $2] " " ($3 + $4); user[$1, $2] = user[$1, $2] " " $3 }
    END {
        for (i = 1; i <= n; i++) {
            t = order[i]
            r = median(total[t, "redis"]); m = median(total[t, "ringkv-memory"]); f = median(total[t, "ringkv-fjall"])
            printf "| %s | %d (user %d) | %d (user %d) | %.2f | %d (user %d) | %.2f |\n", toupper(t), r, median(user[t, "redis"]), m, median(user[t, "ringkv-memory"]), m / r, f, median(user[t, "ringkv-fjall"]), f / r
        }
    }' "$WORK/results"
