// A healthy Node.js HTTP service: every request builds and serialises short-lived rows and keeps
// the last 2000 responses in a Map used as a small cache (oldest evicted). Driven by paced wrk.
// Used for tests/data/traces/node_service.csv. Usage: node node_service.js PORT
'use strict';
const http = require('http');
const recent = new Map();
let n = 0;

http.createServer((req, res) => {
  n += 1;
  const rows = [];
  for (let i = 0; i < 50; i++) rows.push({ id: i, name: `user-${n}-${i}`, score: Math.random() });
  const body = JSON.stringify(rows);
  recent.set(n, body);
  if (recent.size > 2000) recent.delete(recent.keys().next().value);
  res.end(body.slice(0, 200));
}).listen(Number(process.argv[2] || 8191), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
