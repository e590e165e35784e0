#!/usr/bin/env bash
# Whole-command benchmarks of the profile commands (bench/RESULTS.md, "Profile analysis"):
#  (a) symbolize 100,000 distinct addresses of a large binary with DWARF: `leakhunt top` on an
#      unsymbolized profile with one location per address, beside `addr2line -i -f -C -e BIN` on
#      the same addresses and `go tool pprof -top` on the same profile;
#  (b) `leakhunt diff` of two profiles of 100,000 samples each (already symbolized, 12 frames).
# Each command runs RUNS times (default 3); LOCATIONS (default 100000) sets the address count
# of (a). The script prints the wall and user time and peak RSS of each run; a run is stopped
# after LIMIT seconds (default 900; PPROF_LIMIT, default 300, for go tool pprof, which takes
# minutes to symbolize this input) and reported as "> LIMIT s". SKIP_DIFF=1 runs only (a).
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

timeit() {  # label, command...: wall and user seconds and peak RSS of each run, each run
    local label=$1 limit=${LIMIT:-900}  # stopped after LIMIT seconds and reported as "> LIMIT s"
    shift
    for _ in $(seq "$runs"); do
        local rc=0 wall user rss
        /usr/bin/time -f "%e %U %M" -o "$work/time" timeout "$limit" "$@" >/dev/null \
            2>"$work/stderr" || rc=$?
        if [ "$rc" = 124 ]; then
            printf '%-36s > %s s (stopped by timeout)\n' "$label" "$limit"
            continue
        fi
        [ "$rc" = 0 ] || { cat "$work/stderr"; exit 1; }
        read -r wall user rss < <(tail -1 "$work/time")
        printf '%-36s %7.2f s wall %7.2f s user %7.1f MiB peak RSS\n' "$label" "$wall" "$user" \
            "$(echo "$rss / 1024" | bc -l)"
    done
}

echo "binary: $bin ($(stat -c %s "$bin") bytes; $(readelf -SW "$bin" | grep -c ' .debug_') DWARF sections)"
python3 "$here/gen_profile.py" --binary "$(realpath "$bin")" --locations "$locations" \
    --addresses "$work/addresses.txt" >"$work/addresses.pb.gz"
echo "addresses: $(wc -l <"$work/addresses.txt") distinct"

[ -n "${SKIP_LEAKHUNT_TOP:-}" ] ||
    timeit "leakhunt top (symbolize $locations)" "$leakhunt" top --top 5 "$work/addresses.pb.gz"
timeit "addr2line -i -f -C" sh -c 'addr2line -i -f -C -e "$1" <"$2"' sh "$bin" "$work/addresses.txt"
if command -v go >/dev/null; then
    export GOCACHE=$work/gocache HOME=$work
    LIMIT=${PPROF_LIMIT:-300} timeit "go tool pprof -top" go tool pprof -top "$work/addresses.pb.gz"
fi
[ -z "${SKIP_DIFF:-}" ] || exit 0

python3 "$here/gen_profile.py" --synthetic --samples 100000 --seed 1 --grow 1.0 >"$work/base.pb.gz"
python3 "$here/gen_profile.py" --synthetic --samples 100000 --seed 2 --grow 3.0 >"$work/cur.pb.gz"
timeit "leakhunt diff (2 x 100k samples)" "$leakhunt" diff "$work/base.pb.gz" "$work/cur.pb.gz"
timeit "leakhunt diff --format pprof" "$leakhunt" diff --format pprof -o "$work/d.pb.gz" \
    "$work/base.pb.gz" "$work/cur.pb.gz"
if command -v go >/dev/null; then
    timeit "go tool pprof -top -diff_base" go tool pprof -top -diff_base "$work/base.pb.gz" \
        "$work/cur.pb.gz"
fi
