#!/usr/bin/env bash
# Latency of a /metrics scrape of `leakhunt serve` over a watch database of N processes.
#
# Starts N `sleep` processes, watches them (`leakhunt watch --interval 0.2s --db`) for DURATION,
# starts `leakhunt serve --db` after 10 s and scrapes /metrics with curl:
#   live : once a second while the watch still writes (every target has new samples: each is
#          reloaded and judged again at every scrape)
#   cold : the first scrape after the watch ended (a fresh serve: load and judge everything)
#   warm : 20 scrapes of the unchanged database (PRAGMA data_version: nothing is re-read)
# Prints the median and max of curl's time_total per phase, in ms.
#
# Usage: bench/serve_scrape.sh [N=100] [DURATION=40]
# Environment: LEAKHUNT (default build/bin/leakhunt).
set -euo pipefail

cd "$(dirname "$0")/.."
N=${1:-100}
DURATION=${2:-40}
LEAKHUNT=${LEAKHUNT:-build/bin/leakhunt}
DIR=$(mktemp -d /tmp/leakhunt-bench-serve.XXXXXX)
[[ -x $LEAKHUNT ]] || { echo "build $LEAKHUNT first" >&2; exit 1; }

pids=()
cleanup() {
    if ((${#pids[@]})); then kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; fi
    rm -rf "$DIR"
}
trap cleanup EXIT

for ((i = 0; i < N; i++)); do sleep 100000 & pids+=($!); done
victims=("${pids[@]}")
"$LEAKHUNT" watch --db "$DIR/w.db" --interval 0.2 --duration "$DURATION" "${victims[@]}" \
    > /dev/null 2>&1 &
watch_pid=$!
pids+=($watch_pid)
sleep 10

serve() {
    "$LEAKHUNT" serve --listen 127.0.0.1:0 --db "$DIR/w.db" > "$DIR/serve.out" 2>/dev/null &
    serve_pid=$!
    pids+=($serve_pid)
    for _ in $(seq 50); do grep -q listening "$DIR/serve.out" 2>/dev/null && break; sleep 0.1; done
    port=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$DIR/serve.out")
}
scrape() { curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/metrics"; }
stats() { sort -n | awk -v phase="$1" '{a[NR]=$1*1000} END {printf "%-5s n=%d median %.1f ms, max %.1f ms\n", phase, NR, a[int((NR+1)/2)], a[NR]}'; }

serve
samples=$(sqlite3 "$DIR/w.db" 'select count(*) from samples' 2>/dev/null || echo '?')
for _ in $(seq 15); do scrape; sleep 1; done | stats live
wait "$watch_pid" || true
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
serve
scrape | stats cold
for _ in $(seq 20); do scrape; done | stats warm
echo "N=$N processes, $(sqlite3 "$DIR/w.db" 'select count(*) from samples' 2>/dev/null || echo '?') samples at the end ($samples when serve started), $(curl -s "http://127.0.0.1:$port/metrics" | wc -c) bytes of metrics"
