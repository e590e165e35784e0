#!/usr/bin/env bash
# The quick-start demo: installs dependencies, builds, then hunts the leak of the bundled leaky
# service (examples/leaky_service) step by step, as DESIGN.md's journeys go:
#   1. notice:  `leakhunt soak` under wrk load for about a minute: a leak verdict, the growth rate
#               and the evidence (exit 3, as a CI gate would);
#   2. locate:  `leakhunt record --all` with snapshots every 2 s under load, then `suspects`;
#   3. explain: `leakhunt snapshot PID --scan` while it runs, then `paths` (what holds the memory);
#   4. show:    `leakhunt report` -> demo-out/report.html (open it in a browser).
# Exits 0 when every step ran and the soak found the leak.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh leakhunt leakhunt_agent leaky_service
lh=build/bin/leakhunt
port=${LEAKHUNT_DEMO_PORT:-18080}
rm -rf demo-out
mkdir -p demo-out

echo "== 1. notice: is it leaking? (leakhunt soak, ~50 s)"
set +e
"$lh" soak --duration 45s --warmup 5s --ready-port "$port" \
  --load "wrk -t2 -c8 -d120s http://127.0.0.1:$port/session?user=42" \
  -o demo-out -- build/bin/leaky_service --port "$port" --mode leak --leak-bytes 256
code=$?
set -e
echo "leakhunt soak exited with code $code (3 = leak found, 0 = no leak, 1 = error)"
[ "$code" -eq 3 ] || { echo "demo: expected the soak to find the leak (exit 3)"; exit 1; }

echo
echo "== 2. locate: where is it allocated? (leakhunt record --all, ~20 s under load)"
"$lh" record --all --snapshot-every 2s -o demo-out/rec -- \
  build/bin/leaky_service --port "$port" --mode leak --leak-bytes 256 >/dev/null &
rec=$!
trap 'kill $rec 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
wrk -t1 -c2 -d16s "http://127.0.0.1:$port/session?user=42" >/dev/null
pid=$(ls demo-out/rec | sed -n 's/^timeline\.\([0-9]*\)\.csv$/\1/p' | head -1)

echo
echo "== 3. explain: what holds it? (leakhunt snapshot $pid --scan)"
"$lh" snapshot "$pid" --scan
kill -TERM "$rec"
wait "$rec" || true
trap - EXIT
"$lh" suspects demo-out/rec --top 3
scan=$(ls demo-out/rec/heap."$pid".*.scan | tail -1)
"$lh" paths "$scan" --top 2

echo
echo "== 4. show: leakhunt report -> demo-out/report.html"
"$lh" report demo-out/series.csv demo-out/rec -o demo-out/report.html
echo
echo "demo: done. Open demo-out/report.html in a browser; the files are in demo-out/."
