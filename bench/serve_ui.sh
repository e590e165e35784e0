#!/usr/bin/env bash
# Cost of a live page's refresh in `leakhunt serve`'s web UI: GET /api/report.json of a record
# directory (timeline, flame graphs, suspects over SNAPS snapshots of victim_leak) when the
# directory changed (miss: the report is rebuilt) and when it did not (hit: one stat of the
# directory's files, the cached document is sent). Prints the median and max of curl's
# time_total per case, in ms, and the document's size.
#
# Usage: bench/serve_ui.sh [SECONDS=5] [RUNS=10]
# Environment: LEAKHUNT (default build/bin/leakhunt), VICTIM (default build/bin/victim_leak).
set -euo pipefail

cd "$(dirname "$0")/.."
SECONDS_RECORDED=${1:-5}
RUNS=${2:-10}
LEAKHUNT=${LEAKHUNT:-build/bin/leakhunt}
VICTIM=${VICTIM:-build/bin/victim_leak}
DIR=$(mktemp -d /tmp/leakhunt-bench-ui.XXXXXX)
[[ -x $LEAKHUNT && -x $VICTIM ]] || { echo "build $LEAKHUNT and $VICTIM first" >&2; exit 1; }
serve_pid=
cleanup() {
    [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT

"$LEAKHUNT" record -o "$DIR/rec" --snapshot-every 0.5 -- "$VICTIM" --rate 4M \
    --seconds "$SECONDS_RECORDED" > /dev/null 2>&1
pid=$(ls "$DIR/rec" | sed -n 's/^timeline\.\([0-9]*\)\.csv$/\1/p' | head -1)
snaps=$(ls "$DIR/rec" | grep -c "^heap\.$pid\..*\.pb\.gz$")
"$LEAKHUNT" serve --listen 127.0.0.1:0 --dir "$DIR/rec" > "$DIR/serve.out" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do grep -q listening "$DIR/serve.out" && break; sleep 0.1; done
url=$(sed -n 's/.*listening on \(http:[^ ]*\)\/ .*/\1/p' "$DIR/serve.out")/api/report.json?dir=0\&pid=$pid

stats() { sort -n | awk '{a[NR]=$1} END {printf "median %.1f ms, max %.1f ms", a[int((NR+1)/2)]*1000, a[NR]*1000}'; }
miss=()
hit=()
for ((i = 0; i < RUNS; i++)); do
    touch "$DIR/rec/timeline.$pid.csv"  # a changed directory: rebuilt
    miss+=("$(curl -s -o "$DIR/body" -w '%{time_total}' "$url")")
    hit+=("$(curl -s -o /dev/null -w '%{time_total}' "$url")")
done
grep -q '"format":"leakhunt-report"' "$DIR/body" || { echo "not a report: $(head -c 300 "$DIR/body")" >&2; exit 1; }
echo "record directory: $snaps snapshots of victim_leak over ${SECONDS_RECORDED}s; document $(stat -c %s "$DIR/body") bytes"
echo "miss (rebuilt): $(printf '%s\n' "${miss[@]}" | stats)"
echo "hit (cached):   $(printf '%s\n' "${hit[@]}" | stats)"
