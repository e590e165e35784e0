#!/bin/sh
# `leakhunt top` on the heap dump of a real JVM: wall time, max RSS and bytes per object.
# The JVM is tests/victims/java SessionLeak holding SESSIONS sessions in a static map (about five
# objects each: Session, Long, String, byte[], map node), dumped with `jcmd GC.heap_dump`.
# Usage: bench/hprof_top.sh [SESSIONS] [LEAKHUNT]   (defaults: 4000000, build/bin/leakhunt)
# Prints one line per step; needs a JDK (javac, java, jcmd) and GNU time.
set -eu
sessions=${1:-4000000}
leakhunt=${2:-build/bin/leakhunt}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/leakhunt-hprof-bench.XXXXXX)
trap 'kill "$jvm" 2>/dev/null || true; rm -rf "$work"' EXIT
javac -d "$work/classes" "$here"/tests/victims/java/com/example/*.java
java -Xmx6g -cp "$work/classes" com.example.SessionLeak 4000000 "$sessions" > "$work/out" 2>&1 &
jvm=$!
until grep -q quiet "$work/out"; do sleep 1; done
jcmd "$jvm" GC.heap_dump "$work/heap.hprof" > /dev/null
kill "$jvm"
size=$(stat -c %s "$work/heap.hprof")
echo "dump: $size bytes"
/usr/bin/time -f "wall %e s, user %U s, sys %S s, max RSS %M KiB" \
    "$leakhunt" top "$work/heap.hprof" --top 5 2> "$work/time" > "$work/top"
cat "$work/top" "$work/time"
objects=$(sed -n 's/^Heap: .* in \([0-9,]*\) objects.*/\1/p' "$work/top" | tr -d ,)
rss_kib=$(sed -n 's/.*max RSS \([0-9]*\) KiB.*/\1/p' "$work/time")
echo "objects: $objects; max RSS per object: $(echo "scale=1; $rss_kib * 1024 / $objects" | bc) bytes;" \
     "max RSS / dump size: $(echo "scale=2; $rss_kib * 1024 / $size" | bc)"
