#!/usr/bin/env bash
# Reading large text heap profiles: `leakhunt top` against `go tool pprof -top` on the same
# synthetic gperftools heap profile (pprof reads that format; it cannot read jemalloc's, which is
# timed for leakhunt alone). The profiles have STACKS distinct stacks of 12 frames in a
# 400-function binary (no symbols resolve: the mappings name a file that does not exist, so this
# times parsing and aggregation, not DWARF). Wall time, best of 3, on an idle-ish machine.
#
# Usage: bench/legacy_heap_read.sh [STACKS] (default 200000); needs build/bin/leakhunt and go.
set -euo pipefail
stacks=${1:-200000}
here=$(cd "$(dirname "$0")/.." && pwd)
leakhunt=$here/build/bin/leakhunt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp" "$stacks" <<'PY'
import random, sys
out, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
base = 0x555500001000
maps = ("\nMAPPED_LIBRARIES:\n"
        "555500000000-555500001000 r--p 00000000 08:01 1 /nonexistent/app\n"
        "555500001000-555500101000 r-xp 00001000 08:01 1 /nonexistent/app\n")
stacks = []
for _ in range(n):
    frames = " ".join(hex(base + rng.randrange(400) * 0x1000 + rng.randrange(1, 0x1000)) for _ in range(12))
    objs = rng.randrange(1, 50)
    size = objs * rng.choice([16, 64, 256, 4096])
    stacks.append((objs, size, frames))
tot_o = sum(s[0] for s in stacks); tot_b = sum(s[1] for s in stacks)
with open(f"{out}/gperf.heap", "w") as f:
    f.write(f"heap profile: {tot_o}: {tot_b} [{tot_o}: {tot_b}] @ heap_v2/524288\n")
    for o, b, fr in stacks:
        f.write(f"{o}: {b} [{o}: {b}] @ {fr}\n")
    f.write(maps)
with open(f"{out}/jemalloc.heap", "w") as f:
    f.write(f"heap_v2/524288\n  t*: {tot_o}: {tot_b} [0: 0]\n")
    for o, b, fr in stacks:
        f.write(f"@ {fr}\n  t*: {o}: {b} [0: 0]\n  t0: {o}: {b} [0: 0]\n")
    f.write(maps)
PY
best() {  # best wall seconds of 3 runs of "$@"
    local b=999999
    for _ in 1 2 3; do
        local s e
        s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
        b=$(python3 -c "print(min($b, $e - $s))")
    done
    printf '%.2f' "$b"
}
size() { du -h "$1" | cut -f1; }
echo "stacks: $stacks; gperftools file $(size "$tmp/gperf.heap"), jemalloc file $(size "$tmp/jemalloc.heap")"
echo "leakhunt top, gperftools heap_v2:  $(best "$leakhunt" top "$tmp/gperf.heap") s"
echo "leakhunt top, jemalloc heap_v2:    $(best "$leakhunt" top "$tmp/jemalloc.heap") s"
export GOFLAGS= GOCACHE=$tmp/gocache HOME=$tmp PPROF_TMPDIR=$tmp
echo "go tool pprof -top, gperftools:    $(best go tool pprof -top "$tmp/gperf.heap") s"
/usr/bin/time -f "leakhunt top peak RSS: %M KiB" "$leakhunt" top "$tmp/gperf.heap" >/dev/null
/usr/bin/time -f "go tool pprof peak RSS: %M KiB" go tool pprof -top "$tmp/gperf.heap" >/dev/null
