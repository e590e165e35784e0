// A Node.js HTTP service with the classic listener leak: every request subscribes a handler to a
// long-lived EventEmitter (a config bus) and never unsubscribes; the handler's closure keeps the
// request's parsed body alive. Driven by paced wrk. Used for
// tests/data/traces/node_listener_leak.csv. Usage: node node_listener_leak.js PORT
'use strict';
const http = require('http');
const { EventEmitter } = require('events');
const bus = new EventEmitter();
bus.setMaxListeners(0); // silences the warning that would have told us
let n = 0;

http.createServer((req, res) => {
  n += 1;
  const rows = [];
  for (let i = 0; i < 50; i++) rows.push({ id: i, name: `user-${n}-${i}`, score: Math.random() });
  const session = { id: n, rows, note: 'x'.repeat(1024) + n };
  bus.on('config', () => session.rows.length); // never removed: the leak
  res.end(JSON.stringify(rows.slice(0, 5)));
}).listen(Number(process.argv[2] || 8190), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
