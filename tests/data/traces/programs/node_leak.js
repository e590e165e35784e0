// A Node.js "request handler" loop that leaks through closures: every tick it handles fake
// requests, builds short-lived objects (churn), and registers a listener closure that captures
// the request's buffer-backed payload on a global array that is never cleared (the classic
// forgotten event listener). Used by scripts/record_trace.py for
// tests/data/traces/node_leak.csv. Usage: node node_leak.js [tickMs=10] [bytesPerRequest=1500]
'use strict';
const tickMs = Number(process.argv[2] || 10);
const bytesPerRequest = Number(process.argv[3] || 1500);
const listeners = []; // the leak
let requestId = 0;

function handle() {
  requestId += 1;
  const rows = [];
  for (let i = 0; i < 100; i++) rows.push({ id: i, name: `user-${requestId}-${i}`, score: Math.random() });
  const body = JSON.stringify(rows);
  const payload = 'x'.repeat(bytesPerRequest) + requestId; // flat string, distinct per request
  const context = { id: requestId, payload, at: Date.now() };
  listeners.push(() => context.payload.length + body.length);
}

setInterval(() => { handle(); handle(); }, tickMs);
process.on('SIGTERM', () => process.exit(0));
