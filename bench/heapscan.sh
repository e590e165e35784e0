#!/bin/sh
# The heap scan's speed and cost on a big heap: bench_heapscan_heap builds BLOCKS blocks of SIZE
# bytes (default 10,000,000 x 104 B = 1.04 GB) under the agent in full mode, then
# `leakhunt snapshot PID --scan` runs RUNS times. For each: the wall time of the request, the
# pause (threads stopped) and the marking time from the scan file, and the scan's scratch memory;
# also the process's RSS and the agent's own memory before the scans.
# Usage: bench/heapscan.sh [BUILD_DIR] [BLOCKS] [SIZE] [RUNS]
set -eu
build=${1:-build}
blocks=${2:-10000000}
size=${3:-104}
runs=${4:-3}
out=$(mktemp -d /tmp/leakhunt-heapscan-bench.XXXXXX)
fifo=$out/stdin
mkfifo "$fifo"
LD_PRELOAD=$build/lib/libleakhunt_agent.so LEAKHUNT_OUT=$out LEAKHUNT_SAMPLE_INTERVAL=1 \
  "$build/bin/bench_heapscan_heap" --blocks "$blocks" --size "$size" < "$fifo" > "$out/ready" &
pid=$!
exec 3> "$fifo"
t0=$(date +%s.%N)
while ! grep -q ready "$out/ready" 2>/dev/null; do sleep 0.5; done
t1=$(date +%s.%N)
echo "heap built in $(echo "$t1 - $t0" | bc) s: $(cat "$out/ready")"
echo "RSS before the scans: $(awk '/VmRSS/ {print $2 / 1024 " MiB"}' /proc/$pid/status)"
for i in $(seq "$runs"); do
  s0=$(date +%s.%N)
  paths=$("$build/bin/leakhunt" snapshot "$pid" --scan --timeout 120s 2>/dev/null)
  s1=$(date +%s.%N)
  scan=$(echo "$paths" | tail -1)
  "$build/bin/leakhunt" paths "$scan" --top 1 | sed -n 2p
  summary=$("$build/bin/leakhunt" leaks "$scan" | tail -1 || true)
  echo "run $i: request took $(echo "$s1 - $s0" | bc) s; $summary"
  python3 - "$scan" <<'PY'
import sys
sys.path.insert(0, "")
data = open(sys.argv[1], "rb").read()
# summary record: magic(8) version(1) tag(1) len(varint) then varints
pos = 10
def varint():
    global pos
    v = shift = 0
    while True:
        b = data[pos]; pos += 1
        v |= (b & 0x7f) << shift; shift += 7
        if b < 0x80: return v
varint()  # record length
fields = [varint() for _ in range(10)]
n = varint(); pos += n  # reason
scratch = varint()
print(f"  pause {fields[2]/1000:.0f} ms (marking {fields[3]/1000:.0f} ms), {fields[5]} blocks, "
      f"{fields[6]/2**20:.0f} MiB, roots scanned {fields[9]/2**20:.1f} MiB, "
      f"scan scratch memory {scratch/2**20:.0f} MiB ({scratch/max(fields[5],1):.1f} B/block)")
PY
done
echo "agent memory (timeline, last row): $(tail -1 "$out"/timeline.*.csv | cut -d, -f5 | awk '{print $1/2^20 " MiB"}')"
echo x >&3
exec 3>&-
wait $pid
rm -rf "$out"
