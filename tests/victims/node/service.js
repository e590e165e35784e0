// An HTTP service that leaks in one of the field's common ways, beside healthy churn, driven by
// its own paced client (keep-alive, a few requests in flight) so that a test needs no load tool.
//   node service.js MODE REQUESTS RATE
// MODE: cache (an unbounded Map keyed by request), listener (an EventEmitter listener added per
// request and never removed) or healthy. It serves REQUESTS requests (0: until SIGTERM) at about
// RATE per second, prints "ready" once listening and "done N" at the end, and nothing else.
'use strict';
const http = require('http');
const { EventEmitter } = require('events');

const mode = process.argv[2] || 'healthy';
const total = Number(process.argv[3] || 0);
const rate = Number(process.argv[4] || 200);

const sessions = new Map();
const bus = new EventEmitter();
bus.setMaxListeners(0);
let served = 0;

// The leak of mode "cache": every request's session is kept, and nothing evicts it.
function cacheSession(id) {
  const session = { id, user: 'user-' + id, roles: new Array(200).fill(id), at: Date.now() };
  sessions.set(id, session);
  return session;
}

// The leak of mode "listener": each request subscribes and never unsubscribes.
function subscribe(id) {
  const state = { id, seen: new Array(200).fill(0) };
  bus.on('config', function onConfig(value) {
    state.seen[0] = value;
  });
}

// Healthy churn: each request builds a page and lets it go.
function renderPage(id) {
  const rows = [];
  for (let i = 0; i < 40; i++) rows.push({ i, text: 'row ' + i + ' of ' + id });
  return JSON.stringify(rows);
}

const server = http.createServer((req, res) => {
  const id = ++served;
  if (mode === 'cache') cacheSession(id);
  if (mode === 'listener') subscribe(id);
  const body = renderPage(id);
  res.setHeader('content-type', 'application/json');
  res.end(body);
});

let sent = 0;
let inFlight = 0;
let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  process.stdout.write(`done ${sent}\n`);
  server.close();
  agent.destroy();
}
process.on('SIGTERM', finish);

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  process.stdout.write('ready\n');
  const tick = 20;  // ms
  const perTick = Math.max(1, Math.round((rate * tick) / 1000));
  const timer = setInterval(() => {
    if (finished || (total > 0 && sent >= total)) {
      clearInterval(timer);
      if (!finished) setTimeout(finish, 50);
      return;
    }
    // At most a few requests in flight: on a busy machine a client that sends on a clock
    // would pile requests up in its agent's queue, memory that grows in a healthy service.
    for (let k = 0; k < perTick && (total === 0 || sent < total) && inFlight < 8; k++) {
      sent++;
      inFlight++;
      const done = () => { inFlight--; };
      http.get({ port, host: '127.0.0.1', path: '/page?id=' + sent, agent }, (res) => {
        res.on('end', done);
        res.resume();
      }).on('error', done);
    }
  }, tick);
});
