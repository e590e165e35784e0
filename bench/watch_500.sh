#!/usr/bin/env bash
# Cost of `leakhunt watch` following N processes (default 500) at a 1 s interval.
#
# Starts N `sleep` processes (cheap: no CPU, ~1 MB RSS each, so the victims do not compete with
# leakhunt for the 2 cores), then runs leakhunt watch on all their PIDs in three configurations:
#   no-db : --no-db
#   db    : --db /tmp/leakhunt-bench-watch.db (fresh file per run)
#   csv   : --no-db --csv /tmp/leakhunt-bench-watch.csv (fresh file per run)
# stdout/stderr go to /dev/null (not a tty: plain-lines view). leakhunt's CPU time (user+sys,
# from /usr/bin/time) is divided by its wall time: the result is % of one core.
#
# Usage: bench/watch_500.sh [N=500] [DURATION=60s] [REPEATS=3] [CONFIGS="no-db db csv"]
# Environment: LEAKHUNT (default build/bin/leakhunt).
set -euo pipefail

cd "$(dirname "$0")/.."
N=${1:-500}
DURATION=${2:-60s}
REPEATS=${3:-3}
CONFIGS=${4:-"no-db db csv"}
LEAKHUNT=${LEAKHUNT:-build/bin/leakhunt}
DB=/tmp/leakhunt-bench-watch.db
CSV=/tmp/leakhunt-bench-watch.csv
TIMEF=$(mktemp /tmp/leakhunt-bench-time.XXXXXX)

[[ -x $LEAKHUNT ]] || { echo "build $LEAKHUNT first" >&2; exit 1; }

pids=()
cleanup() {
    if ((${#pids[@]})); then kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; fi
    rm -f "$TIMEF" "$DB" "$DB-wal" "$DB-shm" "$DB-journal" "$CSV"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for ((i = 0; i < N; i++)); do
    sleep 100000 &
    pids+=($!)
done
sleep 1
echo "started ${#pids[@]} x 'sleep 100000'; watch --interval 1s --duration $DURATION, $REPEATS repeat(s)"

for cfg in $CONFIGS; do
    case $cfg in
        no-db) extra=(--no-db) ;;
        db) extra=(--db "$DB") ;;
        csv) extra=(--no-db --csv "$CSV") ;;
        *) echo "unknown config $cfg" >&2; exit 2 ;;
    esac
    results=()
    for ((r = 1; r <= REPEATS; r++)); do
        rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-journal" "$CSV"
        /usr/bin/time -f "%U %S %e" -o "$TIMEF" \
            "$LEAKHUNT" watch "${pids[@]}" --interval 1s --duration "$DURATION" "${extra[@]}" \
            >/dev/null 2>&1 || { echo "leakhunt watch ($cfg) failed: $(cat "$TIMEF")" >&2; exit 1; }
        read -r user sys wall <"$TIMEF"
        pct=$(awk -v u="$user" -v s="$sys" -v w="$wall" 'BEGIN { printf "%.2f", (u + s) / w * 100 }')
        printf '  %-6s run %d: user %6.2fs sys %6.2fs wall %6.2fs -> %5s%% of one core\n' \
            "$cfg" "$r" "$user" "$sys" "$wall" "$pct"
        results+=("$pct")
    done
    printf '%s\n' "${results[@]}" | awk -v cfg="$cfg" -v n="$N" '
        { s += $1; if (NR == 1 || $1 < mn) mn = $1; if (NR == 1 || $1 > mx) mx = $1 }
        END { printf "RESULT watch %d pids, 1s interval, %-6s: mean %.2f%% (min %.2f%%, max %.2f%%) of one core over %d runs; target < 2%%: %s\n",
                     n, cfg, s / NR, mn, mx, NR, (s / NR < 2 ? "MET" : "MISSED") }'
done
