// How long a big HTML report takes to open in the browser: a series of 1,000,000 samples and a
// heap profile of 100,000 distinct stacks, `leakhunt report` of both, then headless Chromium
// (Debian's chromium via playwright-core) opens the file; the time from navigation start to the
// page's "drawn" mark (performance.now() when every section is drawn, window.leakhunt.drawnAt)
// is the browser's own figure. Target: under 2 s. Usage (from the build directory):
//   LEAKHUNT_BIN=bin LEAKHUNT_WEB_MODULES=web/node_modules node ../bench/report_open.mjs [runs=5]
import { mkdtempSync, writeFileSync, rmSync, statSync, createWriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { launch, leakhunt, openPage, heapProfile } from '../tests/browser/support.mjs'

const runs = Number(process.argv[2] || 5)
const samples = 1000000
const stacks = 100000
const dir = mkdtempSync(join(tmpdir(), 'leakhunt-bench-report-'))

// 1M samples, 1 s apart: a leak of 1 kB/s under a GC-like sawtooth and noise.
async function writeSeries (path) {
  const out = createWriteStream(path)
  out.write('t_seconds,rss_bytes,heap_inuse_bytes\n')
  let seed = 1
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  let chunk = ''
  for (let i = 0; i < samples; i++) {
    const rss = 200e6 + 1000 * i + ((i % 600) * 50e3) + rand() * 1e6
    chunk += `${i},${Math.round(rss)},${Math.round(rss * 0.7)}\n`
    if (chunk.length > 1 << 20) { if (!out.write(chunk)) await new Promise((r) => out.once('drain', r)); chunk = '' }
  }
  out.write(chunk)
  await new Promise((r) => out.end(r))
}

// 100k distinct stacks of depth 6..24 over 3000 function names, sizes spread over 4 decades.
function writeProfile (path) {
  let seed = 7
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  const list = []
  for (let i = 0; i < stacks; i++) {
    const depth = 6 + Math.floor(rand() * 19)
    const frames = [`leaf_${i}`]
    for (let d = 1; d < depth; d++) frames.push(`fn_${Math.floor(rand() * rand() * 3000)}`)
    frames.push('main')
    list.push({ frames, bytes: Math.round(16 * Math.pow(10, rand() * 4)) })
  }
  writeFileSync(path, heapProfile(list))
}

const csv = join(dir, 'series.csv')
const prof = join(dir, 'heap.pb.gz')
const html = join(dir, 'report.html')
let t0 = Date.now()
await writeSeries(csv)
writeProfile(prof)
console.log(`inputs: ${samples} samples (${(statSync(csv).size / 1e6).toFixed(1)} MB CSV), ${stacks} stacks (${(statSync(prof).size / 1e6).toFixed(1)} MB pprof) in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
t0 = Date.now()
process.stdout.write(leakhunt(['report', csv, prof, '-o', html]))
console.log(`leakhunt report: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${(statSync(html).size / 1e6).toFixed(1)} MB of HTML`)

const browser = await launch()
const figures = []
for (let i = 0; i < runs; i++) {
  const page = await openPage(browser, pathToFileURL(html).href)
  const f = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0]
    return {
      drawn: window.leakhunt.drawnAt,
      domContentLoaded: nav.domContentLoadedEventEnd,
      timelinePoints: window.leakhunt.timelinePoints,
      drawnPoints: window.leakhunt.timelineDrawnPoints,
      flameNodes: document.querySelectorAll('#flame g.frame').length
    }
  })
  if (page.errors.length) throw new Error(`console errors: ${page.errors.join('; ')}`)
  if (f.timelinePoints !== samples) throw new Error(`timeline has ${f.timelinePoints} points, expected ${samples}`)
  figures.push(f)
  console.log(`run ${i + 1}: drawn at ${f.drawn.toFixed(0)} ms after navigation start (DOMContentLoaded ${f.domContentLoaded.toFixed(0)} ms); ${f.drawnPoints} of ${f.timelinePoints} points drawn, ${f.flameNodes} flame frames`)
  await page.close()
}
await browser.close()
const drawn = figures.map((f) => f.drawn).sort((a, b) => a - b)
const median = drawn[Math.floor(drawn.length / 2)]
console.log(`median navigation -> drawn: ${median.toFixed(0)} ms (min ${drawn[0].toFixed(0)}, max ${drawn[drawn.length - 1].toFixed(0)}) over ${runs} runs; target < 2000 ms: ${median < 2000 ? 'met' : 'NOT met'}`)
rmSync(dir, { recursive: true, force: true })
