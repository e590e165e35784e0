#!/bin/sh
# `leakhunt top` and memlab side by side on one V8 heap snapshot of a real node program: wall time
# and max RSS of each, on the same file, in one run; or, with a third argument `three`, `leakhunt
# diff` and `leakhunt suspects` on three snapshots of the program as it grows.
# The program holds OBJECTS sessions in a Map (each a Session object with a distinct string and a
# small array: about four snapshot nodes each) and writes its heap with v8.writeHeapSnapshot; with
# `three` it then adds OBJECTS/10 sessions and writes the next, three snapshots in all (1,750,000
# objects make three of about 500 MB; 5,000,000 make one of 20M nodes).
# The peer is memlab (`memlab analyze object-size`: parse, dominators, retained sizes, the biggest
# objects), which scripts/install-deps.sh installs into MEMLAB_DIR (default ~/.cache/leakhunt/memlab);
# without it only leakhunt runs.
# Usage: bench/v8_snapshot.sh [OBJECTS] [LEAKHUNT] [three]   (defaults: 1000000, build/bin/leakhunt)
# Needs node and GNU time. KEEP=DIR keeps the snapshots there.
set -eu
objects=${1:-1000000}
leakhunt=${2:-build/bin/leakhunt}
count=1
[ "${3:-}" = three ] && count=3
memlab_dir=${MEMLAB_DIR:-$HOME/.cache/leakhunt/memlab}
work=${KEEP:-$(mktemp -d /tmp/leakhunt-v8-bench.XXXXXX)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
if [ "$count" = 1 ]; then
    snaps="$work/heap-$objects.heapsnapshot"
else
    snaps="$work/heap-$objects.0.heapsnapshot $work/heap-$objects.1.heapsnapshot $work/heap-$objects.2.heapsnapshot"
fi
last=${snaps##* }
if [ ! -s "$last" ]; then
    cat > "$work/victim.js" <<'JS'
const v8 = require('v8');
class Session {
  constructor(i) { this.id = i; this.user = 'user-' + i; this.items = [i, i + 1]; }
}
const sessions = new Map();
const n = Number(process.argv[2]);
const files = process.argv.slice(3);
let i = 0;
for (let k = 0; k < files.length; ++k) {
  for (const end = n + k * Math.floor(n / 10); i < end; ++i) sessions.set(i, new Session(i));
  v8.writeHeapSnapshot(files[k]);
}
globalThis.keep = sessions;
JS
    # shellcheck disable=SC2086
    node --max-old-space-size=16000 "$work/victim.js" "$objects" $snaps
fi
for s in $snaps; do
    echo "snapshot: $s, $(stat -c %s "$s") bytes; load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
size=$(stat -c %s "$last")
measure() {  # name, command...
    name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out.$name" 2>&1 || {
        echo "$name: failed"; tail -3 "$work/out.$name"; return 0; }
    read -r wall kib < "$work/time"
    echo "$name: wall $wall s, max RSS $kib KiB ($(echo "scale=2; $kib * 1024 / $size" | bc)x the last file); load after: $(cut -d' ' -f1-3 /proc/loadavg)"
}
if [ "$count" = 3 ]; then
    # shellcheck disable=SC2086
    set -- $snaps
    measure "leakhunt diff" "$leakhunt" diff "$1" "$2"
    sed -n 3p "$work/out.leakhunt diff"
    measure "leakhunt suspects" "$leakhunt" suspects "$1" "$2" "$3"
    sed -n 1,2p "$work/out.leakhunt suspects"
    exit 0
fi
measure "leakhunt top" "$leakhunt" top "$last" --top 5
grep -m1 '^Heap' "$work/out.leakhunt top" || true
if [ -x "$memlab_dir/node_modules/.bin/memlab" ]; then
    measure "memlab analyze object-size" node --max-old-space-size=16000 \
        "$memlab_dir/node_modules/.bin/memlab" analyze object-size --snapshot "$last"
else
    echo "memlab: not installed in $memlab_dir (see the header)"
fi
