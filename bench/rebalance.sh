#!/usr/bin/env bash
# Throughput of a 3-node ringkv cluster while a fourth node joins and the rebalancer moves
# replicas onto it, second by second, and the time until the cluster is balanced again.
#
# 1. Starts node 1 with --cluster, joins nodes 2 and 3 (--join), waits until every shard has
#    its 3 replicas, and loads DATA_MB of data (VALUE_SIZE-byte values, random keys).
# 2. Runs a continuous redis-benchmark --cluster load (TEST, -c CLIENTS, -P PIPELINE, small
#    values) and samples its throughput about four times a second.
# 3. After STEADY seconds, starts node 4 with --join; the rebalancer moves replicas onto it
#    (at most MAX_MOVES at once). Polls CLUSTER REBALANCE STATUS until no move is under way or
#    planned, then keeps the load on for AFTER seconds.
# 4. Prints the time to add the node, steady-state throughput before it, throughput during
#    the rebalance (median, 10th percentile, lowest second) and their ratio, a per-second
#    plot, and the timeline as CSV in $OUT (kept).
#
# Environment (defaults in brackets):
#   DATA_MB [1024]  VALUE_SIZE [16384]  STEADY [30]  AFTER [20]  MAX_MOVES [2]
#   TEST [set]  CLIENTS [50]  PIPELINE [1]  KEYSPACE [100000]  SHARDS [64]
#   BASE [17201]   (client ports BASE..BASE+3; cluster ports these + 10000)
#   OUT [./rebalance-timeline.csv]
#   KEEP         keep the data directories, logs and raw samples
#   RINGKV_BIN   use this binary instead of building target/release/ringkv
set -euo pipefail

DATA_MB=${DATA_MB:-1024}
VALUE_SIZE=${VALUE_SIZE:-16384}
STEADY=${STEADY:-30}
AFTER=${AFTER:-20}
MAX_MOVES=${MAX_MOVES:-2}
TEST=${TEST:-set}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-1}
KEYSPACE=${KEYSPACE:-100000}
SHARDS=${SHARDS:-64}
BASE=${BASE:-17201}
OUT=${OUT:-$PWD/rebalance-timeline.csv}

BENCH=rebalance
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_redis
build_ringkv
command -v python3 >/dev/null || die "python3 is needed to sample throughput"

now() { date +%s.%N; }

# Moves under way plus planned, from CLUSTER REBALANCE STATUS (empty if no answer).
remaining_moves() {
    redis-cli -p "$BASE" cluster rebalance status 2>/dev/null |
        python3 -c 'import json,sys; s=json.load(sys.stdin); print(len(s["moving"]) + len(s["pending"]))' 2>/dev/null
}

balanced() { [ "$(remaining_moves)" = 0 ]; }

# Replicas node $1 (1-based) holds, from CLUSTER REBALANCE STATUS.
replicas_of() {
    redis-cli -p "$BASE" cluster rebalance status 2>/dev/null |
        python3 -c 'import json,sys; print([n["replicas"] for n in json.load(sys.stdin)["nodes"]]['"$(($1 - 1))"'])' 2>/dev/null
}

# How many shards each node leads, from CLUSTER REBALANCE STATUS.
leaders() {
    redis-cli -p "$BASE" cluster rebalance status 2>/dev/null |
        python3 -c 'import json,sys; print(" ".join(str(n["leaders"]) for n in json.load(sys.stdin)["nodes"]))' 2>/dev/null
}

# Whether no node leads more than 2 shards above or below its share.
leaders_balanced() {
    redis-cli -p "$BASE" cluster rebalance status 2>/dev/null | python3 -c '
import json, sys
leads = [n["leaders"] for n in json.load(sys.stdin)["nodes"]]
share = sum(leads) / len(leads)
sys.exit(0 if sum(leads) > 0 and all(abs(l - share) <= 2 for l in leads) else 1)'
}

start_node() { # start_node N [FLAGS...]
    local n=$1 port=$((BASE + $1 - 1))
    shift
    RINGKV_LOG=warn "$RINGKV" server --port "$port" --dir "$WORK/node$n" --shards "$SHARDS" "$@" \
        >"$WORK/node$n.log" 2>&1 &
    PIDS+=($!)
    wait_for 30 "node $n listening" redis-cli -p "$port" ping
}

form_cluster() {
    start_node 1 --cluster
    wait_for 60 "cluster state ok" sh -c "redis-cli -p $BASE cluster info | grep -q cluster_state:ok"
    redis-cli -p "$BASE" cluster rebalance maxmoves "$MAX_MOVES" >/dev/null
    start_node 2 --join "127.0.0.1:$BASE"
    start_node 3 --join "127.0.0.1:$BASE"
    wait_for 300 "3 replicas of every shard" sh -c \
        "[ \"\$(redis-cli -p $BASE cluster rebalance status | python3 -c 'import json,sys; print(sorted(n[\"replicas\"] for n in json.load(sys.stdin)[\"nodes\"]))')\" = '[$SHARDS, $SHARDS, $SHARDS]' ]"
    wait_for 60 "a balanced cluster" balanced
    wait_for 120 "leaders spread over the nodes" leaders_balanced
}

load_data() {
    local keys=$((DATA_MB * 1024 * 1024 / VALUE_SIZE)) t0
    log "loading $DATA_MB MiB: $keys keys of $VALUE_SIZE bytes"
    t0=$(now)
    redis-benchmark --cluster -p "$BASE" -t set -c "$CLIENTS" -d "$VALUE_SIZE" -r 1000000000 \
        -n "$keys" -q >"$WORK/load.out" 2>&1 || die "loading failed: $(tail -3 "$WORK/load.out")"
    LOAD_SECONDS=$(python3 -c "print(f'{$(now) - $t0:.1f}')")
    log "loaded in $LOAD_SECONDS s; data directories: $(du -sh "$WORK"/node1 | cut -f1) on node 1"
}

# Runs the measuring load in the background, writing "seconds since T0,rps" lines to
# $WORK/samples.csv from redis-benchmark's progress line (rps since its previous line).
# redis-benchmark exits on the first error reply (TRYAGAIN, CLUSTERDOWN; it follows MOVED
# and ASK itself): the error goes to $WORK/errors.txt and the load starts again.
start_load() {
    (while [ ! -e "$WORK/stop" ]; do
        redis-benchmark --cluster -p "$BASE" -t "$TEST" -c "$CLIENTS" -P "$PIPELINE" \
            -r "$KEYSPACE" -d 100 -l 2>>"$WORK/bench.err" || true
    done) > >(T0=$T0 python3 -u -c '
import os, re, sys, time
t0 = float(os.environ["T0"])
pattern = re.compile(r"rps=([0-9.]+)")
buf = ""
while True:
    chunk = sys.stdin.read(1)
    if not chunk:
        break
    if chunk in "\r\n":
        m = pattern.search(buf)
        if m:
            print(f"{time.time() - t0:.2f},{m.group(1)}", flush=True)
        elif "rror" in buf:
            print(f"{time.time() - t0:.2f},{buf.strip()}", file=sys.stderr, flush=True)
        buf = ""
    else:
        buf += chunk
' >"$WORK/samples.csv" 2>"$WORK/errors.txt") &
    PIDS+=($!)
}

report() {
    python3 - "$WORK/samples.csv" "$JOIN_AT" "$DONE_AT" "$OUT" <<'EOF'
import statistics, sys
samples_path, join_at, done_at, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
samples = [tuple(map(float, line.split(","))) for line in open(samples_path) if "," in line]
seconds = {}
for t, rps in samples:
    seconds.setdefault(int(t), []).append(rps)
per_second = sorted((s, statistics.mean(v)) for s, v in seconds.items())
before = [r for s, r in per_second if 5 <= s < join_at]
during = [r for s, r in per_second if join_at <= s < done_at]
after = [r for s, r in per_second if s >= done_at + 2]
steady = statistics.median(before)
def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]
print(f"time to add the node (join until balanced): {done_at - join_at:.1f} s")
print(f"steady state before the join: median {steady:.0f} rps over {len(before)} s")
if during:
    print(f"during the rebalance: median {statistics.median(during):.0f} rps "
          f"({statistics.median(during) / steady:.2f}x), 10th percentile {pct(during, 10):.0f} "
          f"({pct(during, 10) / steady:.2f}x), lowest second {min(during):.0f} ({min(during) / steady:.2f}x)")
if after:
    print(f"after the rebalance: median {statistics.median(after):.0f} rps ({statistics.median(after) / steady:.2f}x)")
with open(out, "w") as f:
    f.write("second,rps,phase\n")
    for s, r in per_second:
        phase = "before" if s < join_at else "rebalancing" if s < done_at else "after"
        f.write(f"{s},{r:.0f},{phase}\n")
print(f"timeline: {out}")
print()
top = max(r for _, r in per_second)
for s, r in per_second[::2]:
    mark = "R" if join_at <= s < done_at else " "
    print(f"{s:4d}s {mark} {'#' * int(50 * r / top):<50} {r:.0f}")
EOF
}

log "machine: $(nproc) cores, kernel $(uname -r)"
form_cluster
load_data
log "leaders per node: $(leaders)"
T0=$(now)
start_load
sleep "$STEADY"
log "node 4 joins"
JOIN_WALL=$(now)
start_node 4 --join "127.0.0.1:$BASE"
wait_for 60 "the rebalance to start" sh -c "[ \"\$(redis-cli -p $BASE cluster rebalance status | python3 -c 'import json,sys; s=json.load(sys.stdin); print(len(s[\"moving\"]) + len(s[\"pending\"]))')\" != 0 ]"
wait_for 3600 "the rebalance to finish" balanced
DONE_WALL=$(now)
log "balanced after $(python3 -c "print(f'{$DONE_WALL - $JOIN_WALL:.1f}')") s; node 4 holds $(replicas_of 4) replicas"
sleep "$AFTER"
touch "$WORK/stop"
log "leaders per node: $(leaders)"
JOIN_AT=$(python3 -c "print($JOIN_WALL - $T0)")
DONE_AT=$(python3 -c "print($DONE_WALL - $T0)")
if [ -s "$WORK/errors.txt" ]; then
    log "error replies seen by the load (at most one shown per second): $(wc -l <"$WORK/errors.txt")"
    head -5 "$WORK/errors.txt" >&2
fi
echo "data: $DATA_MB MiB in $((DATA_MB * 1024 * 1024 / VALUE_SIZE)) keys of $VALUE_SIZE bytes (loaded in $LOAD_SECONDS s); load: $TEST -c $CLIENTS -P $PIPELINE; max moves $MAX_MOVES"
report
