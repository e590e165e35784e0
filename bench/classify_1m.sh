#!/usr/bin/env bash
# Time of `leakhunt classify` on 1,000,000-sample series CSVs (t_seconds,rss_bytes, 1 sample/s,
# about 16 MB each), written by bench/gen_series.py into /tmp:
#   /tmp/lh_leak_1m.csv    : 200 MB + 2 MB/h leak + 40 MB GC sawtooth (300 s) + Gaussian noise
#   /tmp/lh_healthy_1m.csv : the same without the leak
# Variants: plain text; --json; --json --replay (verdict-over-time replay, 240 more assessments).
# The detection latency (first_leak_at_s, ~200 prefix assessments) is computed in every variant,
# since ClassifyOptions::detection_latency defaults to true.
#
# Uses hyperfine when installed (wall mean/min/max plus mean user/sys), else a loop of
# /usr/bin/time. Every run's output goes to /dev/null.
#
# Usage: bench/classify_1m.sh [RUNS=10] [ROWS=1000000]
# Environment: LEAKHUNT (default build/bin/leakhunt).
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${1:-10}
ROWS=${2:-1000000}
LEAKHUNT=${LEAKHUNT:-build/bin/leakhunt}
LEAK=/tmp/lh_leak_1m.csv
HEALTHY=/tmp/lh_healthy_1m.csv
[[ $ROWS == 1000000 ]] || { LEAK=/tmp/lh_leak_$ROWS.csv; HEALTHY=/tmp/lh_healthy_$ROWS.csv; }

[[ -x $LEAKHUNT ]] || { echo "build $LEAKHUNT first" >&2; exit 1; }
python3 bench/gen_series.py leak "$ROWS" "$LEAK"
python3 bench/gen_series.py healthy "$ROWS" "$HEALTHY"
echo "series: $(($(wc -l <"$LEAK") - 1)) rows in $LEAK, $(($(wc -l <"$HEALTHY") - 1)) rows in $HEALTHY"

cmds=(
    "$LEAKHUNT classify $LEAK"
    "$LEAKHUNT classify --json $LEAK"
    "$LEAKHUNT classify --json --replay $LEAK"
    "$LEAKHUNT classify $HEALTHY"
    "$LEAKHUNT classify --json $HEALTHY"
    "$LEAKHUNT classify --json --replay $HEALTHY"
)

if command -v hyperfine >/dev/null; then
    json=$(mktemp /tmp/lh-hyperfine.XXXXXX.json)
    trap 'rm -f "$json"' EXIT
    # classify exits 0 (leak only gives 3 with --fail-on-leak).
    hyperfine -N --warmup 2 --runs "$RUNS" --style basic --export-json "$json" "${cmds[@]}" >&2
    python3 - "$json" <<'EOF'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    cpu = r["user"] + r["system"]
    print(f"RESULT {r['command']}: wall mean {r['mean']:.3f}s min {r['min']:.3f}s "
          f"max {r['max']:.3f}s (n={len(r['times'])}); cpu mean {cpu:.3f}s "
          f"(user {r['user']:.3f} sys {r['system']:.3f}); target mean < 1 s: "
          f"{'MET' if r['mean'] < 1 else 'MISSED'}")
EOF
else
    tf=$(mktemp /tmp/lh-time.XXXXXX)
    trap 'rm -f "$tf"' EXIT
    for c in "${cmds[@]}"; do
        for ((i = 0; i < RUNS; i++)); do
            # shellcheck disable=SC2086
            /usr/bin/time -f "%e %U %S" -a -o "$tf" $c >/dev/null
        done
        awk -v c="$c" '{ s += $1; cpu += $2 + $3; if (NR == 1 || $1 < mn) mn = $1; if ($1 > mx) mx = $1 }
            END { printf "RESULT %s: wall mean %.3fs min %.3fs max %.3fs (n=%d); cpu mean %.3fs; target mean < 1 s: %s\n",
                         c, s / NR, mn, mx, NR, cpu / NR, (s / NR < 1 ? "MET" : "MISSED") }' "$tf"
        : >"$tf"
    done
fi
