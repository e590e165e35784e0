#!/usr/bin/env bash
# The quick-start demo: installs dependencies, builds, then runs `leakhunt soak` on the bundled
# leaky service (examples/leaky_service) under wrk load for about a minute. It ends with a leak
# verdict, the growth rate and the evidence, and exits 3 (a leak was found) as a CI gate would.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
port=${LEAKHUNT_DEMO_PORT:-18080}
set +e
build/bin/leakhunt soak --duration 45s --warmup 5s --ready-port "$port" \
  --load "wrk -t2 -c8 -d120s http://127.0.0.1:$port/session?user=42" \
  -o demo-out -- build/bin/leaky_service --port "$port" --mode leak --leak-bytes 256
code=$?
set -e
echo
echo "leakhunt soak exited with code $code (3 = leak found, 0 = no leak, 1 = error)"
echo "series: demo-out/series.csv   verdict: demo-out/verdict.json"
[ "$code" -eq 3 ] || [ "$code" -eq 0 ]
