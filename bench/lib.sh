# Shared by the bench scripts; sourced after setting BENCH (the script's name for messages).
# Gives ROOT (the repository), WORK (a temporary directory, removed on exit unless KEEP is
# set), PIDS (background processes to stop on exit), die, log, check_port (fail when a port
# is taken), wait_ready (until a server answers PING), install_redis (apt-get redis-server and
# redis-tools when missing) and build_ringkv (sets RINGKV to RINGKV_BIN or a fresh release
# build).

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
