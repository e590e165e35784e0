#!/usr/bin/env bash
# Records the runtime traces in tests/data/traces/ sampled every 0.25 s (JVM G1 uncommit and
# static-map leak, a tiny leak under big batch spikes, Go at two GOGC values, a Node listener leak
# and a healthy Node service, redis with and without maxmemory). At most two recordings run at
# once; the script waits for all. Run from the repository root:
#   tests/data/traces/programs/record_runtimes.sh [only-these-names...]
# Needs python3, java 17 (javac), go, node, redis-server/redis-benchmark and wrk on PATH.
set -euo pipefail
root=$(pwd)
out=$root/tests/data/traces
prog=$out/programs
rec="python3 $root/scripts/record_trace.py --interval 0.25 --quiet"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
javac -d "$work/classes" "$prog/JavaWarmup.java" "$prog/JavaMapLeak.java"
cp "$prog/go_service.go" "$work/"
printf 'module goservice\n\ngo 1.19\n' >"$work/go.mod"
(cd "$work" && go build -o go_service go_service.go)
g1="-XX:+UseG1GC -XX:G1PeriodicGCInterval=5000 -Xms32m"
pace=$prog/wrk_pace.lua
names=("$@")

running=0
# job NAME SECONDS ARGS...: records NAME.csv for SECONDS; at most two run at once.
job() {
    local name=$1 seconds=$2
    shift 2
    if [[ ${#names[@]} -gt 0 && " ${names[*]} " != *" $name "* ]]; then return; fi
    if ((running >= 2)); then
        wait -n || true
        running=$((running - 1))
    fi
    $rec --duration "$seconds" --out "$out/$name.csv" "$@" >"/tmp/record_$name.log" 2>&1 &
    running=$((running + 1))
}
job java_g1_uncommit 240 -- java $g1 -Xmx1g -cp "$work/classes" JavaWarmup 40
job java_g1_map_leak 240 -- java $g1 -Xmx2g -cp "$work/classes" JavaMapLeak 10 2048
job py_spike_leak 240 -- python3 "$prog/py_spike_leak.py" 40 8
job go_leak_gogc50 180 -- env GOGC=50 "$work/go_service" -mode leak
job go_ring_gogc50 180 -- env GOGC=50 "$work/go_service" -mode ring
job go_leak_gogc400 180 -- env GOGC=400 "$work/go_service" -mode leak
job go_ring_gogc400 180 -- env GOGC=400 "$work/go_service" -mode ring
job node_listener_leak 180 --wait-port 8190 \
    --load "wrk -t1 -c2 -d1h -s $pace http://127.0.0.1:8190/" -- node "$prog/node_listener_leak.js" 8190
job node_service 180 --wait-port 8191 \
    --load "wrk -t1 -c2 -d1h -s $pace http://127.0.0.1:8191/" -- node "$prog/node_service.js" 8191
# A fill with ever-new keys: bounded by maxmemory 48mb (allkeys-lru evicts), unbounded without.
fill='while true; do redis-benchmark -p PORT -t set -r 100000000 -n 5000 -d 200 -c 4 -q; sleep 1; done'
job redis_maxmemory 180 --wait-port 6392 --load "${fill//PORT/6392}" \
    -- redis-server --port 6392 --bind 127.0.0.1 --save '' --appendonly no \
    --maxmemory 48mb --maxmemory-policy allkeys-lru
job redis_unbounded 180 --wait-port 6393 --load "${fill//PORT/6393}" \
    -- redis-server --port 6393 --bind 127.0.0.1 --save '' --appendonly no

wait
