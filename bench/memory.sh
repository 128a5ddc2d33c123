#!/usr/bin/env bash
# Memory used per key: loads the same KEYS string keys into redis-server and into
# ringkv --engine memory, and reports how much each server's resident memory grew.
#
# Keys are "key:%012d" (16 bytes), values VALUE_SIZE bytes (default 100), every key distinct,
# loaded with `redis-cli --pipe` from a generator of RESP SET commands (python3, or awk when
# python3 is missing). Growth is VmRSS (from /proc/PID/status) after loading minus VmRSS
# before, so it includes allocator overhead and fragmentation: what the machine pays.
#
# Environment (defaults in brackets):
#   KEYS [1000000]  VALUE_SIZE [100]
#   REDIS_PORT [16379]  MEMORY_PORT [16381]
#   RINGKV_BIN      use this ringkv binary instead of building target/release/ringkv
set -euo pipefail

KEYS=${KEYS:-1000000}
VALUE_SIZE=${VALUE_SIZE:-100}
REDIS_PORT=${REDIS_PORT:-16379}
MEMORY_PORT=${MEMORY_PORT:-16381}

BENCH=memory
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Resident set size of PID in KiB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# RESP "SET key:%012d <value>" for every key. The value embeds the key's number so that no two
# are equal (no server can share them).
generate() {
    if command -v python3 >/dev/null; then
        python3 - "$KEYS" "$VALUE_SIZE" <<'EOF'
import sys
keys, size = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
batch = []
for i in range(keys):
    key = b"key:%012d" % i
    value = (b"%012d" % i + b"v" * size)[:size]
    batch.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))
    if len(batch) == 10000:
        out.write(b"".join(batch))
        batch.clear()
out.write(b"".join(batch))
EOF
    else
        awk -v keys="$KEYS" -v size="$VALUE_SIZE" 'BEGIN {
            pad = sprintf("%*s", size, ""); gsub(/ /, "v", pad)
            for (i = 0; i < keys; i++) {
                key = sprintf("key:%012d", i)
                value = substr(sprintf("%012d", i) pad, 1, size)
                printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(key), key, length(value), value
            }
        }'
    fi
}

# measure NAME PORT PID: loads the keys and prints "name|dbsize|before KiB|after KiB".
measure() {
    local name=$1 port=$2 pid=$3 before after dbsize out
    sleep 1
    before=$(rss_kb "$pid")
    log "loading $KEYS keys into $name"
    out=$(generate | redis-cli -h 127.0.0.1 -p "$port" --pipe 2>&1) || { echo "$out" >&2; die "loading $name failed"; }
    echo "$out" | grep -q "errors: 0," || { echo "$out" >&2; die "$name reported errors while loading"; }
    sleep 2
    after=$(rss_kb "$pid")
    dbsize=$(redis-cli -h 127.0.0.1 -p "$port" DBSIZE)
    [ "$dbsize" = "$KEYS" ] || log "warning: $name holds $dbsize keys after loading $KEYS"
    echo "$name|$dbsize|$before|$after"
}

install_redis
build_ringkv
check_port "$REDIS_PORT" redis REDIS_PORT
check_port "$MEMORY_PORT" ringkv-memory MEMORY_PORT
mkdir -p "$WORK/redis"

(cd "$WORK/redis" && exec redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --daemonize no --dir "$WORK/redis" >"$WORK/redis.log" 2>&1) &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
wait_ready redis "$REDIS_PORT" "$REDIS_PID" "$WORK/redis.log"

RINGKV_LOG=warn "$RINGKV" server --bind 127.0.0.1 --port "$MEMORY_PORT" --dir "$WORK/ringkv-data" --engine memory \
    >"$WORK/ringkv.log" 2>&1 &
RINGKV_PID=$!
PIDS+=("$RINGKV_PID")
wait_ready ringkv-memory "$MEMORY_PORT" "$RINGKV_PID" "$WORK/ringkv.log"

redis_row=$(measure redis "$REDIS_PORT" "$REDIS_PID")
ringkv_row=$(measure ringkv-memory "$MEMORY_PORT" "$RINGKV_PID")
redis_used=$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" INFO memory | awk -F: '/^used_memory:/ { sub(/\r/, "", $2); print $2 }')

{
    echo
    echo "Memory for $KEYS keys of 16 bytes with $VALUE_SIZE-byte values (RSS growth while loading)"
    echo "$(redis-server --version | awk '{print $1, $2, $3}'); ringkv $("$RINGKV" --version | awk '{print $2}'); $(uname -sr)"
    echo
    printf '%s\n%s\n' "$redis_row" "$ringkv_row" | awk -F'|' -v keys="$KEYS" -v used="$redis_used" '
        {
            delta = $4 - $3; name[NR] = $1; size[NR] = $2; before[NR] = $3; after[NR] = $4; grew[NR] = delta
        }
        END {
            fmt = "%-14s %10s %14s %14s %12s %12s\n"
            printf fmt, "server", "dbsize", "rss before MB", "rss after MB", "growth MB", "bytes/key"
            for (i = 1; i <= NR; i++)
                printf fmt, name[i], size[i], sprintf("%.1f", before[i] / 1024), sprintf("%.1f", after[i] / 1024),
                    sprintf("%.1f", grew[i] / 1024), sprintf("%.0f", grew[i] * 1024 / keys)
            ratio = (grew[1] > 0) ? sprintf("%.2f", grew[2] / grew[1]) : "-"
            printf "\nratio ringkv-memory/redis (RSS growth): %s\n", ratio
            if (used != "") printf "redis INFO used_memory after loading: %.1f MB (%.0f bytes/key)\n", used / 1048576, used / keys
            printf "\nMarkdown:\n\n| server | dbsize | RSS growth MB | bytes/key |\n|---|---:|---:|---:|\n"
            for (i = 1; i <= NR; i++)
                printf "| %s | %s | %.1f | %.0f |\n", name[i], size[i], grew[i] / 1024, grew[i] * 1024 / keys
            printf "| ratio ringkv/redis | | %s | |\n", ratio
        }'
}
