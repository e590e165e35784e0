// Native memory of a node program from JavaScript: every tick keeps 50 Buffers of 8 KiB
// (allocated by node's C++ ArrayBuffer allocator, outside the JS heap), for N ticks, then exits.
//   node --perf-basic-prof buffers.js [TICKS]
'use strict';
const keep = [];
function leakBuffers() {
  for (let i = 0; i < 50; i++) keep.push(Buffer.allocUnsafeSlow(8192));
}
const ticks = Number(process.argv[2] || 60);
let n = 0;
const timer = setInterval(() => {
  leakBuffers();
  if (++n >= ticks) clearInterval(timer);
}, 20);
