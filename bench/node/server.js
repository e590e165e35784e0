// A small JSON service for measuring the cost of `leakhunt record` on node: each request builds a
// page of 40 rows and lets it go. `node server.js PORT`.
'use strict';
const http = require('http');
http.createServer((req, res) => {
  const rows = [];
  for (let i = 0; i < 40; i++) rows.push({ i, text: 'row ' + i + ' of ' + req.url });
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(rows));
}).listen(Number(process.argv[2]), '127.0.0.1');
