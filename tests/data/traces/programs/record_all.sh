#!/usr/bin/env bash
# Re-records the real traces in tests/data/traces/ (see labels.csv there). Each recording runs
# scripts/record_trace.py for DURATION seconds at 1 s; all run concurrently in the background and
# the script waits for them. Run from the repository root after building leaky_service:
#   tests/data/traces/programs/record_all.sh [DURATION=300] [only-these-names...]
# Needs python3, node, java 17 (javac), redis-server/redis-benchmark and wrk on PATH.
set -euo pipefail
duration=${1:-300}
shift || true
root=$(pwd)
out=$root/tests/data/traces
prog=$out/programs
rec="python3 $root/scripts/record_trace.py --interval 1 --duration $duration --quiet"
classes=$(mktemp -d)
javac -d "$classes" "$prog/JavaLeak.java" "$prog/JavaChurn.java"
names=("$@")

run() {  # run NAME ARGS... : record into $out/NAME.csv, log into /tmp/record_NAME.log
    local name=$1
    shift
    if [[ ${#names[@]} -eq 0 || " ${names[*]} " == *" $name "* ]]; then
        $rec --out "$out/$name.csv" "$@" >"/tmp/record_$name.log" 2>&1 &
    fi
}

run python_leak -- python3 "$prog/py_leak.py"
run python_lru -- python3 "$prog/py_lru.py" --cache-entries 30000
run node_leak -- node "$prog/node_leak.js" 10 1500
run node_churn -- node "$prog/node_churn.js" 10 2000
run java_leak -- java -Xms32m -Xmx2g -cp "$classes" JavaLeak 10 4096
run java_churn -- java -Xms32m -Xmx2g -cp "$classes" JavaChurn 10 3000
# Ever-new keys (-r 100000000): the keyspace is an unbounded cache. The shell loop paces the load.
run redis_new_keys --wait-port 6390 \
    --load 'while true; do redis-benchmark -p 6390 -t set -r 100000000 -n 5000 -d 200 -c 4 -q; sleep 1; done' \
    -- redis-server --port 6390 --bind 127.0.0.1 --save '' --appendonly no
run redis_fixed_keys --wait-port 6391 \
    --load 'while true; do redis-benchmark -p 6391 -t set,get -r 1000 -n 5000 -d 200 -c 4 -q; sleep 1; done' \
    -- redis-server --port 6391 --bind 127.0.0.1 --save '' --appendonly no
# The demo service under paced wrk (wrk's delay() hook: 10 ms between requests per connection).
pace=$prog/wrk_pace.lua
run service_leak --wait-port 8181 \
    --load "wrk -t1 -c2 -d1h -s $pace http://127.0.0.1:8181/session?user=1" \
    -- "$root/build/bin/leaky_service" --port 8181 --mode leak
run service_bounded --wait-port 8182 \
    --load "wrk -t1 -c2 -d1h -s $pace http://127.0.0.1:8182/session?user=1" \
    -- "$root/build/bin/leaky_service" --port 8182 --mode bounded --cache-entries 15000
run service_healthy --wait-port 8183 \
    --load "wrk -t1 -c2 -d1h -s $pace http://127.0.0.1:8183/session?user=1" \
    -- "$root/build/bin/leaky_service" --port 8183 --mode healthy
wait
rm -rf "$classes"
