#!/usr/bin/env bash
# Throughput of a small node service under wrk, without and with `leakhunt record --pid`
# (sampling heap profiler, a full GC and a profile every --snapshot-every), alternating runs.
# Also the service's CPU time per request (utime+stime from /proc/PID/stat), which a loaded
# machine disturbs less than requests per second.
#   bench/node/sampling_cost.sh [RUNS] [SECONDS] [EVERY]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
leakhunt=${LEAKHUNT:-$here/../../build/bin/leakhunt}
runs=${1:-3}; secs=${2:-10}; every=${3:-10s}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
node --inspect-port=127.0.0.1:0 "$here/server.js" "$port" 2>/dev/null & pid=$!
trap 'kill $pid 2>/dev/null' EXIT
sleep 1
wrk -t1 -c8 -d3s "http://127.0.0.1:$port/" > /dev/null  # warm-up
out=$(mktemp -d)
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
load() {  # prints "REQ_PER_S CPU_US_PER_REQUEST"
  local c0 c1 w
  c0=$(cpu)
  w=$(wrk -t1 -c8 -d"${secs}s" "http://127.0.0.1:$port/")
  c1=$(cpu)
  echo "$w" | awk -v c=$((c1 - c0)) -v t="$ticks" '
    /requests in/ {n = $1} /Requests\/sec/ {r = $2}
    END {printf "%s %.1f\n", r, c / t * 1e6 / n}'
}
for r in $(seq "$runs"); do
  read -r base base_cpu < <(load)
  rm -rf "$out/rec"
  "$leakhunt" record --pid "$pid" -o "$out/rec" --snapshot-every "$every" \
      --duration "$((secs + 2))s" 2> "$out/log" &
  rec=$!
  sleep 1
  read -r with with_cpu < <(load)
  wait $rec
  echo "run $r: without $base req/s ($base_cpu us CPU/request), with $with req/s ($with_cpu us CPU/request)"
done
rm -rf "$out"
