#!/bin/sh
# `leakhunt top` and memlab side by side on one V8 heap snapshot of a real node program: wall time
# and max RSS of each, on the same file, in one run.
# The program holds OBJECTS sessions in a Map (each a Session object with a distinct string and a
# small array: about four snapshot nodes each) and writes its heap with v8.writeHeapSnapshot.
# The peer is memlab (`memlab analyze object-size`: parse, dominators, retained sizes, the biggest
# objects), which scripts/install-deps.sh installs into MEMLAB_DIR (default ~/.cache/leakhunt/memlab);
# without it only leakhunt runs.
# Usage: bench/v8_snapshot.sh [OBJECTS] [LEAKHUNT]   (defaults: 1000000, build/bin/leakhunt)
# Needs node and GNU time. KEEP=DIR keeps the snapshot there.
set -eu
objects=${1:-1000000}
leakhunt=${2:-build/bin/leakhunt}
memlab_dir=${MEMLAB_DIR:-$HOME/.cache/leakhunt/memlab}
work=${KEEP:-$(mktemp -d /tmp/leakhunt-v8-bench.XXXXXX)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
snap="$work/heap-$objects.heapsnapshot"
if [ ! -s "$snap" ]; then
    cat > "$work/victim.js" <<'EOF'
const v8 = require('v8');
class Session {
  constructor(i) { this.id = i; this.user = 'user-' + i; this.items = [i, i + 1]; }
}
const sessions = new Map();
const n = Number(process.argv[2]);
for (let i = 0; i < n; ++i) sessions.set(i, new Session(i));
v8.writeHeapSnapshot(process.argv[3]);
globalThis.keep = sessions;
EOF
    node --max-old-space-size=16000 "$work/victim.js" "$objects" "$snap"
fi
size=$(stat -c %s "$snap")
echo "snapshot: $snap, $size bytes; load: $(cut -d' ' -f1-3 /proc/loadavg)"
measure() {  # name, command...
    name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out.$name" 2>&1 || {
        echo "$name: failed"; tail -3 "$work/out.$name"; return 0; }
    read -r wall kib < "$work/time"
    echo "$name: wall $wall s, max RSS $kib KiB ($(echo "scale=2; $kib * 1024 / $size" | bc)x the file)"
}
measure "leakhunt top" "$leakhunt" top "$snap" --top 5
grep -m1 '^Heap' "$work/out.leakhunt top" || true
if [ -x "$memlab_dir/node_modules/.bin/memlab" ]; then
    measure "memlab analyze object-size" node --max-old-space-size=16000 \
        "$memlab_dir/node_modules/.bin/memlab" analyze object-size --snapshot "$snap"
else
    echo "memlab: not installed in $memlab_dir (see the header)"
fi
