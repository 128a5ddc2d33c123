# Shared by the bench scripts; sourced after setting BENCH (the script's name for messages).
# Gives ROOT (the repository), WORK (a temporary directory, removed on exit unless KEEP is
# set), PIDS (background processes to stop on exit), die, log, check_port (fail when a port
# is taken), wait_ready (until a server answers PING), install_redis (apt-get redis-server and
# redis-tools when missing), build_ringkv (sets RINGKV to RINGKV_BIN or a fresh release
# build), wait_for (retry a command until it succeeds), start_static_cluster (a 3-node ringkv
# cluster), run_rotating (redis-benchmark rounds over several servers, into
# $WORK/results.csv) and AWK_MEDIAN (an awk function for the reports).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ringkv-$BENCH.XXXXXX")
PIDS=()

die() { echo "$BENCH: $*" >&2; exit 1; }
log() { echo "$BENCH: $*" >&2; }

cleanup() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do wait "$pid" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# check_port PORT NAME VAR: fail when PORT (for NAME, set by VAR) is already taken.
check_port() {
    if port_busy "$1"; then
        die "port $1 ($2) is already in use; choose another with $3=<port>"
    fi
}

# wait_ready NAME PORT PID LOG: until the server answers PING, or fail with its log.
wait_ready() {
    local name=$1 port=$2 pid=$3 logfile=$4 i
    for i in $(seq 1 300); do
        if ! kill -0 "$pid" 2>/dev/null; then
            cat "$logfile" >&2 || true
            die "$name exited during startup (log above)"
        fi
        if [ "$(redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null)" = "PONG" ]; then
            return
        fi
        sleep 0.1
    done
    cat "$logfile" >&2 || true
    die "$name did not answer PING on port $port within 30 s"
}

# wait_for SECONDS DESCRIPTION COMMAND...: retries COMMAND every 0.1 s until it succeeds, or
# fails after SECONDS.
wait_for() {
    local limit=$1 what=$2 i
    shift 2
    for i in $(seq 1 $((limit * 10))); do
        if "$@" >/dev/null 2>&1; then return; fi
        sleep 0.1
    done
    die "$what did not happen within $limit s (logs in $WORK)"
}

# start_static_cluster BIN FIRST_PORT NAME: three nodes of the ringkv binary BIN on client
# ports FIRST_PORT to FIRST_PORT + 2 (cluster ports 10000 higher), SHARDS shards each on all
# three, data in $WORK/NAME1..3 and logs in $WORK/NAME1..3.log; returns once every node
# reports cluster_state:ok. The node processes are in CLUSTER_PIDS (and in PIDS).
start_static_cluster() {
    local bin=$1 first=$2 name=$3 i peers=""
    CLUSTER_PIDS=""
    for i in 1 2 3; do peers="$peers${peers:+,}$i=127.0.0.1:$((first + i - 1))"; done
    for i in 1 2 3; do
        RINGKV_LOG=warn "$bin" server --port "$((first + i - 1))" --dir "$WORK/$name$i" \
            --node-id "$i" --peers "$peers" --shards "$SHARDS" >"$WORK/$name$i.log" 2>&1 &
        PIDS+=($!)
        CLUSTER_PIDS="$CLUSTER_PIDS $!"
    done
    for i in 0 1 2; do
        wait_for 30 "$name shards elected on $((first + i))" \
            sh -c "redis-cli -p $((first + i)) cluster info | grep -q cluster_state:ok"
    done
}

install_redis() {
    local tools="command -v redis-server && command -v redis-cli && command -v redis-benchmark"
    sh -c "$tools" >/dev/null && return
    log "installing redis-server and redis-tools with apt-get"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server redis-tools >/dev/null
    sh -c "$tools" >/dev/null || die "redis-server/redis-cli/redis-benchmark still missing after apt-get"
}

build_ringkv() {
    if [ -n "${RINGKV_BIN:-}" ]; then
        [ -x "$RINGKV_BIN" ] || die "RINGKV_BIN=$RINGKV_BIN is not an executable"
        RINGKV=$RINGKV_BIN
        return
    fi
    log "building ringkv (release)"
    (cd "$ROOT" && cargo build --release -p ringkv >&2)
    RINGKV="${CARGO_TARGET_DIR:-$ROOT/target}/release/ringkv"
    [ -x "$RINGKV" ] || die "no binary at $RINGKV after the build"
}

# An awk function: median(list) of the numbers in a space-separated list ("" when empty).
AWK_MEDIAN='
    function median(list,    n, v, i, j, t) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] + 0 > t + 0; j--) v[j + 1] = v[j]; v[j + 1] = t }
        if (n == 0) return ""
        return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }'

# record_csv TARGET PIPELINE ROUND CSV: appends "target,pipeline,round,test,rps,p50" lines to
# $WORK/results.csv from one redis-benchmark --csv run. redis-benchmark 7 prints a header
# ("test","rps","avg_latency_ms",…,"p50_latency_ms",…); older versions print only
# "test","rps" rows without a header: p50 is then "-".
record_csv() {
    local target=$1 pipeline=$2 round=$3 csv=$4
    awk -F'","' -v target="$target" -v pipeline="$pipeline" -v round="$round" '
        { gsub(/^"|"\r?$/, "") }
        $1 == "test" { for (i = 1; i <= NF; i++) col[$i] = i; next }
        NF >= 2 {
            rps = $(("rps" in col) ? col["rps"] : 2)
            p50 = ("p50_latency_ms" in col) ? $(col["p50_latency_ms"]) : "-"
            printf "%s,%s,%s,%s,%s,%s\n", target, pipeline, round, $1, rps, p50
        }' "$csv" >>"$WORK/results.csv"
}

# run_rotating: ROUNDS rounds of `redis-benchmark -t TESTS -c CLIENTS -r KEYSPACE` at each
# depth of PIPELINES (N_P1 requests at -P 1, N_P16 otherwise) against every server named in
# the TARGETS array (its port from the script's port_of function), each round starting with
# the next server so that none always runs first; results in $WORK/results.csv.
run_rotating() {
    : >"$WORK/results.csv"
    local round pipeline n i target port csv
    for round in $(seq 1 "$ROUNDS"); do
        for pipeline in $PIPELINES; do
            if [ "$pipeline" = 1 ]; then n=$N_P1; else n=$N_P16; fi
            for i in "${!TARGETS[@]}"; do
                target=${TARGETS[$(((round - 1 + i) % ${#TARGETS[@]}))]}
                port=$(port_of "$target")
                csv="$WORK/$target-P$pipeline-r$round.csv"
                log "round $round/$ROUNDS: $target -P $pipeline -n $n"
                redis-benchmark -h 127.0.0.1 -p "$port" -t "$TESTS" -c "$CLIENTS" -P "$pipeline" \
                    -r "$KEYSPACE" -n "$n" --csv -q >"$csv" 2>"$WORK/benchmark.err" ||
                    { cat "$WORK/benchmark.err" >&2; die "redis-benchmark failed against $target"; }
                grep -q . "$csv" || die "redis-benchmark printed nothing against $target (see $WORK/benchmark.err)"
                record_csv "$target" "$pipeline" "$round" "$csv"
            done
        done
    done
}
