#!/usr/bin/env bash
# Agent overhead against peers (bench/README.md, figures in bench/RESULTS.md).
#
# Runs each workload under seven configurations, side by side in one run:
#   none        no agent
#   bare        bench/bare_interposer.c: counts bytes down in TLS and forwards to glibc (the floor
#               of any LD_PRELOAD agent; sampled mode should sit on it)
#   sampled     leakhunt agent, default Poisson byte sampling (LEAKHUNT_SAMPLE_INTERVAL=524288)
#   full        leakhunt agent, every allocation (LEAKHUNT_SAMPLE_INTERVAL=1)
#   heaptrack   heaptrack -o FILE CMD (record only; its CPU includes heaptrack_interpret + zstd)
#   jemalloc    LD_PRELOAD=libjemalloc.so.2 MALLOC_CONF=prof:true,lg_prof_sample:19,prof_final:true
#   gperftools  LD_PRELOAD=libtcmalloc.so.4 HEAPPROFILE=DIR/gp (heap profiler, every allocation)
# Workloads:
#   micro    build/bin/bench_alloc_micro (bench/alloc_micro.cpp: containers + strings, 2 threads)
#   churn    build/bin/agent_threads_churn --threads 2 --ops 5000000 (pure malloc/free: worst case)
#   redis    redis-server under redis-benchmark -n 500000 -t set,get,lpush,lpop -P 16 -d 100
#   cc1plus  cc1plus -O2 (the exact command line of `g++ -std=c++20 -O2 -c`, from -###) on the
#            TU written by bench/gen_tu.py; cc1plus is run directly so every profiler sees it.
# micro, churn and cc1plus run under hyperfine (-N, one hyperfine call with the six commands);
# each command is wrapped in /usr/bin/time so that every run's user+sys CPU and max RSS is kept.
# redis runs the configurations round-robin within each repetition.
# One RESULT line per workload x configuration: wall and CPU (user+sys) mean/min/max, CPU
# overhead against `none`, max RSS, and for leakhunt the agent's own memory (timeline agent_bytes).
#
# Usage: bench/agent_peers.sh [REPEATS=3] [WORKLOADS="micro churn redis cc1plus"]
#                             [CONFIGS="none bare sampled full heaptrack jemalloc gperftools"]
# Environment: TU_BLOCKS (default 10, blocks in the generated TU), MICRO_ROUNDS (default 60),
#              OUT (default /tmp/leakhunt-bench-peers; wiped at start), REDIS_PORT (default 16390),
#              AGENT (default build/lib/libleakhunt_agent.so; point it at a copy to pin one build),
#              HEAPTRACK_AS_LIMIT (default 6 GiB: prlimit --as for the heaptrack configuration).
# shellcheck disable=SC2016  # the awk expressions given to stats() are single-quoted on purpose
set -euo pipefail

REPEATS=${1:-3}
WORKLOADS=${2:-"micro churn redis cc1plus"}
CONFIGS=${3:-"none bare sampled full heaptrack jemalloc gperftools"}
TU_BLOCKS=${TU_BLOCKS:-10}
MICRO_ROUNDS=${MICRO_ROUNDS:-60}
OUT=${OUT:-/tmp/leakhunt-bench-peers}
REDIS_PORT=${REDIS_PORT:-16390}
HEAPTRACK_AS_LIMIT=${HEAPTRACK_AS_LIMIT:-6442450944}  # address-space cap of heaptrack + victim

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
AGENT=${AGENT:-$BUILD/lib/libleakhunt_agent.so}  # override to pin a copy while others rebuild
BARE=${BARE:-$BUILD/lib/libbench_bare_interposer.so}
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
TCMALLOC=/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4
TIMEFMT='%e %U %S %M'

need() { command -v "$1" >/dev/null || { echo "agent_peers: $1 is missing ($2)" >&2; exit 1; }; }
need hyperfine "apt-get install -y hyperfine"
need heaptrack "apt-get install -y heaptrack"
need redis-server "apt-get install -y redis-server"
need /usr/bin/time "apt-get install -y time"
[[ -e $JEMALLOC ]] || { echo "agent_peers: $JEMALLOC missing (libjemalloc2)" >&2; exit 1; }
[[ -e $TCMALLOC ]] || { echo "agent_peers: $TCMALLOC missing (libgoogle-perftools-dev)" >&2; exit 1; }

echo "agent_peers: building the agent, the victims and the bare interposer" >&2
cmake --build "$BUILD" -j2 --target leakhunt_agent leakhunt agent_threads_churn bench_alloc_micro \
    bench_bare_interposer >&2

rm -rf "$OUT"
mkdir -p "$OUT"

# The command prefix (words) that puts CMD under configuration $1 for workload $2.
prefix() {
    local cfg=$1 w=$2 d=$OUT/$2/$1
    mkdir -p "$d"
    case $cfg in
        none) echo "env" ;;
        bare) echo "env LD_PRELOAD=$BARE" ;;
        sampled) echo "env LD_PRELOAD=$AGENT LEAKHUNT_OUT=$d" ;;
        full) echo "env LD_PRELOAD=$AGENT LEAKHUNT_OUT=$d LEAKHUNT_SAMPLE_INTERVAL=1" ;;
        # Capped: on cc1plus heaptrack_interpret grows to ~19 GB and dies with std::bad_alloc
        # (RESULTS.md); the cap keeps it from pushing the machine into swap / the OOM killer.
        heaptrack) echo "prlimit --as=$HEAPTRACK_AS_LIMIT heaptrack -o $d/heaptrack.$w" ;;
        jemalloc) echo "env LD_PRELOAD=$JEMALLOC MALLOC_CONF=prof:true,lg_prof_sample:19,prof_final:true,prof_prefix:$d/jeprof" ;;
        gperftools) echo "env LD_PRELOAD=$TCMALLOC HEAPPROFILE=$d/gp" ;;
        *) echo "agent_peers: unknown configuration $cfg" >&2; exit 1 ;;
    esac
}

# stats FILE COLUMN-EXPR -> "mean min max" of an awk expression over the lines of FILE.
stats() {
    awk "\$1 ~ /^[0-9.]+\$/ { v = $2; c++; s += v; if (c == 1 || v < mn) mn = v; if (c == 1 || v > mx) mx = v }
         END { if (c) printf \"%.3f %.3f %.3f\", s / c, mn, mx; else printf \"nan nan nan\" }" "$1"
}

# The leakhunt agent's own memory: the largest agent_bytes of any timeline row of this config.
agent_bytes() {
    local d=$1 f max=0
    for f in "$d"/timeline.*.csv; do
        [[ -e $f ]] || continue
        max=$(awk -F, -v m="$max" 'NR > 1 && $5 + 0 > m { m = $5 + 0 } END { print m }' "$f")
    done
    echo "$max"
}

declare -A BASE_CPU
# result WORKLOAD CFG TIMEFILE [EXTRA]: one RESULT line.
result() {
    local w=$1 cfg=$2 tf=$3 extra=${4:-}
    local wall cpu rss n fails over="" ab=""
    n=$(grep -c '^[0-9.]* ' "$tf" || true)
    # /usr/bin/time adds a line when the command fails (heaptrack_interpret can die: RESULTS.md).
    fails=$(grep -c 'non-zero status\|terminated by signal' "$tf" || true)
    [[ $fails != 0 ]] && extra+=" FAILED_runs=$fails($(grep -m1 'non-zero status\|terminated by signal' "$tf" | sed 's/ /_/g'))"
    read -r -a wall <<<"$(stats "$tf" '$1')"
    read -r -a cpu <<<"$(stats "$tf" '$2 + $3')"
    read -r -a rss <<<"$(stats "$tf" '$4')"
    [[ $cfg == none ]] && BASE_CPU[$w]=${cpu[0]}
    if [[ -n ${BASE_CPU[$w]:-} ]]; then
        over=$(awk -v a="${cpu[0]}" -v b="${BASE_CPU[$w]}" 'BEGIN { printf " cpu_vs_none=%+.1f%% cpu_ratio=%.2fx", (a / b - 1) * 100, a / b }')
    fi
    if [[ $cfg == sampled || $cfg == full ]]; then
        ab=" agent_bytes_max=$(agent_bytes "$OUT/$w/$cfg")"
    fi
    # The machine's load when the workload ended (1, 5 and 15 minute averages): figures taken at a
    # load above 1.5 are noise-bound (bench/README.md).
    extra+=" load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/')"
    printf 'RESULT workload=%s config=%s runs=%s wall_s=%s(min %s max %s) cpu_s=%s(min %s max %s)%s maxrss_kb=%.0f%s%s\n' \
        "$w" "$cfg" "$n" "${wall[0]}" "${wall[1]}" "${wall[2]}" "${cpu[0]}" "${cpu[1]}" "${cpu[2]}" \
        "$over" "${rss[0]}" "$ab" "$extra"
}

# hyperfine_workload NAME CMD...: all configurations in one hyperfine call.
hyperfine_workload() {
    local w=$1; shift
    local cmd="$*" args=() cfg
    mkdir -p "$OUT/$w"
    for cfg in $CONFIGS; do
        : >"$OUT/$w/time.$cfg"
        args+=(-n "$cfg" "/usr/bin/time -a -o $OUT/$w/time.$cfg -f '$TIMEFMT' $(prefix "$cfg" "$w") $cmd")
    done
    echo "agent_peers: $w: $cmd" >&2
    $cmd >/dev/null 2>&1  # warm the page cache once, outside the measurement
    hyperfine -N -i --style basic --runs "$REPEATS" --export-json "$OUT/$w/hyperfine.json" "${args[@]}" >&2
    for cfg in $CONFIGS; do result "$w" "$cfg" "$OUT/$w/time.$cfg"; done
}

redis_workload() {
    local w=redis cfg rep p pid line
    mkdir -p "$OUT/$w"
    for cfg in $CONFIGS; do : >"$OUT/$w/time.$cfg"; : >"$OUT/$w/rps.$cfg"; done
    for ((rep = 1; rep <= REPEATS; rep++)); do
        for cfg in $CONFIGS; do
            p=$REDIS_PORT
            # shellcheck disable=SC2046
            /usr/bin/time -a -o "$OUT/$w/time.$cfg" -f "$TIMEFMT" $(prefix "$cfg" "$w") \
                redis-server --port "$p" --save '' --appendonly no --daemonize no \
                >"$OUT/$w/server.$cfg.log" 2>&1 &
            pid=$!
            for _ in $(seq 300); do
                redis-cli -p "$p" ping 2>/dev/null | grep -q PONG && break
                sleep 0.1
            done
            redis-benchmark -p "$p" -q -n 500000 -t set,get,lpush,lpop -P 16 -d 100 2>&1 |
                tr '\r' '\n' | grep 'requests per second' >"$OUT/$w/bench.$cfg.$rep"
            redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true
            wait "$pid"
            # One line per repetition: SET GET LPUSH LPOP requests/s.
            line=""
            for t in SET GET LPUSH LPOP; do
                line+="$(awk -v t="$t:" '$1 == t { print $2 }' "$OUT/$w/bench.$cfg.$rep") "
            done
            echo "$line" >>"$OUT/$w/rps.$cfg"
            echo "agent_peers: redis rep $rep $cfg: rps $line cpu $(tail -1 "$OUT/$w/time.$cfg")" >&2
        done
    done
    declare -A BASE_RPS
    for cfg in $CONFIGS; do
        local extra="" i t
        i=1
        for t in set get lpush lpop; do
            read -r -a s <<<"$(stats "$OUT/$w/rps.$cfg" "\$$i")"
            [[ $cfg == none ]] && BASE_RPS[$t]=${s[0]}
            extra+=" rps_$t=${s[0]}(min ${s[1]} max ${s[2]}"
            if [[ -n ${BASE_RPS[$t]:-} ]]; then
                extra+=$(awk -v a="${s[0]}" -v b="${BASE_RPS[$t]}" 'BEGIN { printf " %+.1f%%", (a / b - 1) * 100 }')
            fi
            extra+=")"
            i=$((i + 1))
        done
        result "$w" "$cfg" "$OUT/$w/time.$cfg" "$extra"
    done
}

for w in $WORKLOADS; do
    case $w in
        micro) hyperfine_workload micro "$BUILD/bin/bench_alloc_micro --threads 2 --rounds $MICRO_ROUNDS" ;;
        churn) hyperfine_workload churn "$BUILD/bin/agent_threads_churn --threads 2 --ops 5000000" ;;
        redis) redis_workload ;;
        cc1plus)
            mkdir -p "$OUT/cc1plus"
            python3 "$ROOT/bench/gen_tu.py" "$TU_BLOCKS" >"$OUT/cc1plus/big_tu.cpp"
            # The exact cc1plus command of `g++ -std=c++20 -O2 -c`, output redirected into $OUT.
            cc1=$(cd "$OUT/cc1plus" && g++ -std=c++20 -O2 -c big_tu.cpp -o big_tu.o -### 2>&1 |
                grep -m1 '/cc1plus ' | sed -e 's/"//g' -e "s| -o [^ ]*\.s| -o $OUT/cc1plus/big_tu.s|" \
                    -e "s| big_tu.cpp | $OUT/cc1plus/big_tu.cpp |")
            echo "agent_peers: cc1plus command: $cc1" >&2
            hyperfine_workload cc1plus "$cc1"
            ;;
        *) echo "agent_peers: unknown workload $w" >&2; exit 1 ;;
    esac
done
