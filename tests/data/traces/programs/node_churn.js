// A healthy Node.js loop: every tick it allocates many short-lived objects, arrays and strings
// (JSON round trips, array maps) and keeps nothing, so V8's young-generation GC produces a
// sawtooth over a flat baseline. Used for tests/data/traces/node_churn.csv.
// Usage: node node_churn.js [tickMs=10] [objectsPerTick=5000]
'use strict';
const tickMs = Number(process.argv[2] || 10);
const objectsPerTick = Number(process.argv[3] || 5000);
let checksum = 0;

setInterval(() => {
  const items = [];
  for (let i = 0; i < objectsPerTick; i++) items.push({ i, s: `item-${i}-${Math.random()}`, a: [i, i * 2, i * 3] });
  const text = JSON.stringify(items);
  const back = JSON.parse(text);
  checksum = (checksum + back.map((o) => o.a[2]).reduce((x, y) => x + y, 0)) % 1000003;
}, tickMs);
process.on('SIGTERM', () => process.exit(0));
