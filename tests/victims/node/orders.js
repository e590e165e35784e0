// A second Node.js program for the pattern library's test: an order book that remembers every
// order it processed in a module-level Map and never forgets one, the same leak shape as
// service.js's "cache" mode (a Map in a module variable holding objects that each hold an array)
// under other names, in a program of another form (a timer-driven worker, no HTTP).
//   node orders.js RATE
// It processes about RATE orders per second, prints "ready" once started, and runs until SIGTERM.
'use strict';

const rate = Number(process.argv[2] || 300);
const processed = new Map();
let next = 0;

function rememberOrder(n) {
  const order = { n, customer: 'customer-' + (n % 977), lines: new Array(200).fill(n), placed: Date.now() };
  processed.set('order-' + n, order);
}

function priceQuote(n) {
  // Churn that is let go at once.
  const parts = [];
  for (let i = 0; i < 30; i++) parts.push({ i, price: (n * i) % 101 });
  return parts.reduce((sum, p) => sum + p.price, 0);
}

const tick = 20;  // ms
const perTick = Math.max(1, Math.round((rate * tick) / 1000));
let total = 0;
const timer = setInterval(function processBatch() {
  for (let k = 0; k < perTick; k++) {
    next++;
    rememberOrder(next);
    total += priceQuote(next);
  }
}, tick);
process.on('SIGTERM', () => {
  clearInterval(timer);
  process.stdout.write(`done ${next} ${total % 7}\n`);
});
process.stdout.write('ready\n');
