// An HTTP service that leaks in one of the field's common ways, beside healthy churn, driven by
// its own paced client (keep-alive, a few requests in flight) so that a test needs no load tool.
//   node service.js MODE REQUESTS RATE
// MODE: cache (an unbounded Map keyed by request), listener (an EventEmitter listener added per
// request and never removed), timer (a closure scheduled an hour away per request, holding the
// request's rows), interval (a setInterval per request, never cleared), stream (an audit record
// per request written to a slow consumer, write()'s false ignored) or healthy. It serves REQUESTS requests (0: until SIGTERM) at about
// RATE per second, prints "ready" once listening and "done N" at the end, and nothing else.
'use strict';
const http = require('http');
const { EventEmitter } = require('events');
const { Writable } = require('stream');

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

// The leak of mode "timer": each request schedules a follow-up an hour away, and its closure
// keeps the request's rows alive until then.
function scheduleFollowUp(id) {
  const rows = new Array(300).fill('row of ' + id);
  setTimeout(function followUp() {
    served += rows.length > 0 ? 0 : 1;
  }, 3600 * 1000);
}

// The leak of mode "interval": each request starts polling its job's status, keeping a history
// of the answers, and nothing ever stops it.
function startPolling(id) {
  const state = { id, history: new Array(100).fill(0) };
  setInterval(function poll() {
    state.history.push(Date.now());
  }, 600 * 1000);
}

// The leak of mode "stream": a slow consumer takes one record every 200 ms, and each request
// writes one without waiting for 'drain', so the stream's buffer grows.
const auditLog = new Writable({
  objectMode: true,
  highWaterMark: 16,
  write(record, encoding, callback) {
    setTimeout(callback, 200);
  },
});
function writeAudit(id) {
  const record = { id, at: Date.now(), fields: new Array(100).fill(id) };
  auditLog.write(record);  // its false return (the buffer is full) is ignored
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
  if (mode === 'timer') scheduleFollowUp(id);
  if (mode === 'interval') startPolling(id);
  if (mode === 'stream') writeAudit(id);
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
  // The leaked timers (and the audit stream's consumer) would keep the loop alive.
  setTimeout(() => process.exit(0), 100).unref();
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
