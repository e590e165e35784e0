#!/usr/bin/env bash
# Whole-command benchmarks of the profile commands (bench/RESULTS.md, "Profile analysis"):
#  (a) symbolize 100,000 distinct addresses of a large binary with DWARF: `leakhunt top` on an
#      unsymbolized profile with one location per address, beside `addr2line -i -f -C -e BIN` on
#      the same addresses and `go tool pprof -top` on the same profile;
#  (b) `leakhunt diff` of two profiles of 100,000 samples each (already symbolized, 12 frames).
# Each command runs RUNS times (default 3); LOCATIONS (default 100000) sets the address count
# of (a). The script prints the wall time of each run.
# Usage: bench/profile_bench.sh [BUILD_DIR=build] [BINARY=BUILD_DIR/bin/leakhunt]
set -euo pipefail
build=${1:-build}
bin=${2:-$build/bin/leakhunt}
leakhunt=$build/bin/leakhunt
runs=${RUNS:-3}
locations=${LOCATIONS:-100000}
work=$(mktemp -d /tmp/leakhunt-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
here=$(dirname "$0")

timeit() {  # label, command...: wall seconds of each run
    local label=$1
    shift
    for _ in $(seq "$runs"); do
        local t0 t1
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr"; exit 1; }
        t1=$(date +%s.%N)
        printf '%-34s %6.2f s\n' "$label" "$(echo "$t1 - $t0" | bc)"
    done
}

echo "binary: $bin ($(stat -c %s "$bin") bytes; $(readelf -SW "$bin" | grep -c ' .debug_') DWARF sections)"
python3 "$here/gen_profile.py" --binary "$(realpath "$bin")" --locations "$locations" \
    --addresses "$work/addresses.txt" >"$work/addresses.pb.gz"
echo "addresses: $(wc -l <"$work/addresses.txt") distinct"

[ -n "${SKIP_LEAKHUNT_TOP:-}" ] ||
    timeit "leakhunt top (symbolize $locations)" "$leakhunt" top --top 5 "$work/addresses.pb.gz"
a2l() { addr2line -i -f -C -e "$bin" <"$work/addresses.txt"; }
timeit "addr2line -i -f -C" a2l
if command -v go >/dev/null; then
    export GOCACHE=$work/gocache HOME=$work
    timeit "go tool pprof -top" go tool pprof -top "$work/addresses.pb.gz"
fi

python3 "$here/gen_profile.py" --synthetic --samples 100000 --seed 1 --grow 1.0 >"$work/base.pb.gz"
python3 "$here/gen_profile.py" --synthetic --samples 100000 --seed 2 --grow 3.0 >"$work/cur.pb.gz"
timeit "leakhunt diff (2 x 100k samples)" "$leakhunt" diff "$work/base.pb.gz" "$work/cur.pb.gz"
timeit "leakhunt diff --format pprof" "$leakhunt" diff --format pprof -o "$work/d.pb.gz" \
    "$work/base.pb.gz" "$work/cur.pb.gz"
if command -v go >/dev/null; then
    timeit "go tool pprof -top -diff_base" go tool pprof -top -diff_base "$work/base.pb.gz" \
        "$work/cur.pb.gz"
fi
