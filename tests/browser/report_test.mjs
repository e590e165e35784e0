// Browser tests of the HTML report and the live page, in headless Chromium (Debian's chromium
// driven by playwright-core). Run by ctest (tests/browser/CMakeLists.txt) as
//   node --test tests/browser/report_test.mjs
// with LEAKHUNT_BIN, LEAKHUNT_WEB_MODULES, LEAKHUNT_ARTIFACTS and LEAKHUNT_TEST_DATA set. Reports
// come from a real `leakhunt record` run of victim_leak and from a corpus trace; screenshots are
// kept in LEAKHUNT_ARTIFACTS.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync, renameSync, rmSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ARTIFACTS, BIN, launch, leakhunt, openPage, state, heapProfile } from './support.mjs'

const TEST_DATA = process.env.LEAKHUNT_TEST_DATA
const HOSTILE = '<img src=x onerror="window.__pwned=1">'
let dir
let browser
const rec = {}

function csvRows (path) {
  return readFileSync(path, 'utf8').trim().split('\n').length - 1
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'leakhunt-browser-'))
  // A real recording: victim_leak leaks 4 MB/s for 4 s, a snapshot every 0.5 s.
  rec.dir = join(dir, 'rec')
  // Sampled every 64 KiB on average with a fixed seed: at the default 512 KiB, 4 samples per
  // snapshot made the leak's line noisy enough to pass for a plateau in ~7% of runs.
  leakhunt(['record', '-o', rec.dir, '--snapshot-every', '0.5', '--sample-interval', '65536', '--', join(BIN, 'victim_leak'), '--rate', '4M', '--seconds', '4'],
    { env: { ...process.env, LEAKHUNT_SEED: '7' } })
  const timeline = readdirSync(rec.dir).find((f) => /^timeline\.\d+\.csv$/.test(f))
  rec.points = csvRows(join(rec.dir, timeline))
  const heaps = readdirSync(rec.dir).filter((f) => /^heap\.\d+\.\d+\.pb\.gz$/.test(f)).sort()
  rec.lastHeap = join(rec.dir, heaps[heaps.length - 1])
  rec.top = JSON.parse(leakhunt(['top', '--json', '--top', '1', rec.lastHeap]).trim().split('\n')[0])
  rec.suspects = leakhunt(['suspects', '--json', rec.dir]).trim().split('\n').map((l) => JSON.parse(l))
  rec.html = join(dir, 'rec.html')
  rec.json = join(dir, 'rec.json')
  leakhunt(['report', rec.dir, '-o', rec.html, '--data', rec.json, '--title', 'victim_leak'])
  browser = await launch()
})

after(async () => {
  if (browser) await browser.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

// Clicks the middle of the first frame at `depth` of the flame graph in `selector`; returns its name.
async function clickFrame (page, selector, depth) {
  // The graph may still be painting (d3 applies sizes on its next timer tick): wait for the frame.
  await page.waitForFunction(({ selector, depth }) => [...document.querySelectorAll(`${selector} g.frame`)]
    .some((g) => g.__data__ && g.__data__.depth === depth && g.querySelector('rect').getBoundingClientRect().width > 4),
  { selector, depth }, { timeout: 10000 }).catch(() => {})
  const box = await page.evaluate(({ selector, depth }) => {
    for (const g of document.querySelectorAll(`${selector} g.frame`)) {
      const d = g.__data__
      if (d && d.depth === depth && g.querySelector('rect').getBoundingClientRect().width > 4) {
        g.scrollIntoView({ block: 'center' })
        const r = g.querySelector('rect').getBoundingClientRect()
        if (r.width > 4) return { x: r.x + r.width / 2, y: r.y + r.height / 2, name: d.data.n }
      }
    }
    return null
  }, { selector, depth })
  assert.ok(box, `a frame at depth ${depth} in ${selector}`)
  await page.mouse.click(box.x, box.y)
  return box.name
}

test('record report: timeline, flame graph top frame, zoom, no console errors', async () => {
  const page = await openPage(browser, pathToFileURL(rec.html).href)
  const s = await state(page)
  assert.deepEqual(page.errors, [])
  assert.equal(s.timelinePoints, rec.points)
  assert.deepEqual(s.timelineSeries, ['RSS', 'heap in use'])
  assert.equal(s.flameRoot.name, 'all')
  assert.equal(s.flameTopFunction, rec.top.function)
  assert.ok(!s.missing.some((m) => m.startsWith('suspects:')), 'suspects are computed from the snapshots')
  assert.ok(s.missing.some((m) => m.startsWith('retention paths:')), 'the page says paths are missing (no scan)')
  assert.equal(await page.isVisible('#diff-flame'), true)
  assert.equal(await page.isVisible('#suspects'), true)
  // The suspects table: the leaking function first, the same rows as `leakhunt suspects --json`.
  const fns = await page.locator('#suspects table.suspects tbody td.fn').allTextContents()
  assert.deepEqual(fns, rec.suspects.map((r) => r.function))
  assert.equal(fns[0], rec.top.function)
  assert.equal(await page.locator('#notes').textContent().then((t) => t.includes('Not in this report')), true)
  // The flame graph is drawn: one <g class=frame> per node at least for the root.
  assert.ok(await page.locator('#flame g.frame').count() >= 3)
  await page.screenshot({ path: join(ARTIFACTS, 'report-record.png'), fullPage: true })
  const zoomed = await clickFrame(page, '#flame', 1)
  await page.waitForFunction((n) => window.leakhunt.flameZoomedRoot === n, zoomed)
  assert.notEqual(zoomed, 'all')
  const diffZoomed = await clickFrame(page, '#diff-flame', 1)
  await page.waitForFunction((n) => window.leakhunt.diffZoomedRoot === n, diffZoomed)
  // A narrower window: the timeline and the flame graph follow its width, the zoom stays.
  const wide = await page.evaluate(() => [window.leakhunt.timelineWidth, Number(document.querySelector('#flame svg').getAttribute('width'))])
  await page.setViewportSize({ width: 800, height: 900 })
  await page.waitForFunction((w) => window.leakhunt.timelineWidth < w - 200, wide[0])
  await page.waitForFunction((w) => Number(document.querySelector('#flame svg').getAttribute('width')) < w - 200, wide[1])
  const canvas = await page.evaluate(() => document.querySelector('#timeline canvas').getBoundingClientRect().width)
  assert.ok(canvas <= 800, `the timeline's canvas is ${canvas} px wide in an 800 px window`)
  assert.equal((await state(page)).flameZoomedRoot, zoomed)
  assert.deepEqual(page.errors, [])
  await page.close()
})

test('corpus series report: every sample of the trace, verdict leak', async () => {
  const csv = join(TEST_DATA, 'traces', 'service_leak.csv')
  const html = join(dir, 'corpus.html')
  leakhunt(['report', csv, '-o', html])
  const page = await openPage(browser, pathToFileURL(html).href)
  const s = await state(page)
  assert.deepEqual(page.errors, [])
  assert.equal(s.timelinePoints, csvRows(csv))
  assert.ok(s.timelineDrawnPoints <= 2 * 1280 + 4, `downsampled to at most two points per pixel, got ${s.timelineDrawnPoints}`)
  assert.equal(await page.locator('#verdict .verdict').textContent(), 'LEAK')
  assert.equal(await page.isVisible('#flame'), false)
  // Drag on the chart zooms the timeline.
  const over = await page.locator('#timeline .u-over').boundingBox()
  await page.mouse.move(over.x + over.width * 0.3, over.y + over.height / 2)
  await page.mouse.down()
  await page.mouse.move(over.x + over.width * 0.6, over.y + over.height / 2, { steps: 5 })
  await page.mouse.up()
  await page.waitForFunction(() => window.leakhunt.timelineZoom !== null)
  await page.screenshot({ path: join(ARTIFACTS, 'report-corpus.png'), fullPage: true })
  assert.deepEqual(page.errors, [])
  await page.close()
})

test('a 2M-sample series: the page holds its lows and highs, not every sample, and says so', async () => {
  const csv = join(dir, 'long.csv')
  const n = 2000000
  const spikeAt = 1234567
  const lines = ['t_seconds,rss_bytes']
  for (let i = 0; i < n; i++) lines.push(`${i},${100000000 + 50 * i + (i === spikeAt ? 4000000000 : 0)}`)
  writeFileSync(csv, lines.join('\n') + '\n')
  const html = join(dir, 'long.html')
  leakhunt(['report', csv, '-o', html])
  const size = readFileSync(html).length
  assert.ok(size < 4 * 1024 * 1024, `the page is ${size} bytes`)
  const page = await openPage(browser, pathToFileURL(html).href)
  const s = await state(page)
  assert.deepEqual(page.errors, [])
  assert.equal(s.timelineSamples, n)
  assert.ok(s.timelinePoints <= 2 * 4096 + 2, `rows in the page: ${s.timelinePoints}`)
  assert.match(await page.locator('#timeline p.hint').nth(1).textContent(), /^2,000,000 samples, drawn as the lowest and highest RSS/)
  // The spike survives the reduction: it is the chart's highest value.
  assert.equal(s.timelineMaxRss, 100000000 + 50 * spikeAt + 4000000000)
  assert.equal(await page.locator('#verdict .verdict').textContent(), 'LEAK')
  await page.close()
})

test('hostile process names and symbols are shown as text', async () => {
  const csv = join(dir, 'hostile.csv')
  let rows = 't_seconds,target,rss_bytes\n'
  for (let i = 0; i < 100; i++) rows += `${i},"${HOSTILE.replace(/"/g, '""')}",${1e8 + i * 1e6}\n`
  writeFileSync(csv, rows)
  const prof = join(dir, 'hostile.pb.gz')
  writeFileSync(prof, heapProfile([{ frames: [HOSTILE, 'main'], bytes: 1 << 20 }, { frames: ['ok_function', 'main'], bytes: 1 << 10 }]))
  const html = join(dir, 'hostile.html')
  leakhunt(['report', csv, prof, '-o', html, '--title', HOSTILE])
  const page = await openPage(browser, pathToFileURL(html).href)
  const s = await state(page)
  assert.deepEqual(page.errors, [])
  assert.equal(await page.evaluate(() => window.__pwned), undefined)
  assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0)
  assert.equal(await page.title(), HOSTILE)
  assert.equal(await page.locator('#verdict .series-name').textContent(), ' hostile.csv:' + HOSTILE)
  assert.equal(s.flameTopFunction, HOSTILE)
  const label = await page.evaluate((h) => {
    for (const g of document.querySelectorAll('#flame g.frame')) if (g.getAttribute('name') === h) return g.querySelector('div').textContent
    return null
  }, HOSTILE)
  assert.equal(label, HOSTILE)
  await page.screenshot({ path: join(ARTIFACTS, 'report-hostile.png'), fullPage: true })
  await page.close()
})

test('record --all with a heap scan: the paths section names the holder', async () => {
  const out = join(dir, 'holders')
  // heapscan_holders holds 1,000 sessions in the global g_sessions; it waits on stdin.
  const child = spawn(join(BIN, 'leakhunt'), ['record', '--all', '-o', out, '--', join(BIN, 'heapscan_holders')], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const closed = new Promise((resolve) => child.on('close', resolve))
  let pid
  try {
    // Both streams are needed: "ready" on the victim's stdout and the pid on record's stderr,
    // which may arrive in either order.
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`heapscan_holders did not start: ${stdout} ${stderr}`)), 30000)
      const check = () => {
        const m = /recording pid (\d+)/.exec(stderr)
        if (m && stdout.includes('ready')) { clearTimeout(timer); pid = m[1]; resolve() }
      }
      child.stderr.on('data', (d) => { stderr += d; check() })
      child.stdout.on('data', (d) => { stdout += d; check() })
      child.on('exit', (code) => reject(new Error(`record exited with ${code}: ${stderr}`)))
    })
    leakhunt(['snapshot', pid, '--scan'], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdin.end('exit\n')
  } catch (e) {
    child.kill('SIGKILL')
    throw e
  }
  await closed
  assert.ok(readdirSync(out).some((f) => /^heap\.\d+\.\d+\.scan$/.test(f)), 'a scan file beside the snapshots')
  const html = join(dir, 'holders.html')
  const json = join(dir, 'holders.json')
  leakhunt(['report', out, '-o', html, '--data', json])
  const data = JSON.parse(readFileSync(json, 'utf8'))
  assert.ok(Array.isArray(data.retention_paths) && data.retention_paths.length > 0, JSON.stringify(data.missing))
  const page = await openPage(browser, pathToFileURL(html).href)
  assert.deepEqual(page.errors, [])
  assert.equal(await page.isVisible('#paths'), true)
  const text = await page.locator('#paths').textContent()
  assert.match(text, /global g_sessions \(heapscan_holders\)/)
  assert.match(text, /make_session/)
  await page.screenshot({ path: join(ARTIFACTS, 'report-paths.png'), fullPage: true })
  await page.close()
})

// python3 -m http.server on loopback, port chosen by the kernel.
function serve (root) {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', root], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const timer = setTimeout(() => reject(new Error(`http.server did not start: ${out}`)), 10000)
    child.stdout.on('data', (d) => {
      out += d
      const m = /port (\d+)/.exec(out)
      if (m) { clearTimeout(timer); resolve({ child, port: Number(m[1]) }) }
    })
    child.on('error', reject)
  })
}

test('live page: fetches the data URL, redraws and keeps the zoom', async () => {
  const root = join(dir, 'live')
  mkdirSync(join(root, 'data'), { recursive: true })
  leakhunt(['report', '--live', '/data/report.json', '--refresh-ms', '500', '-o', join(root, 'index.html')])
  copyFileSync(rec.json, join(root, 'data', 'report.json'))
  const { child, port } = await serve(root)
  try {
    const page = await openPage(browser, `http://127.0.0.1:${port}/index.html`)
    let s = await state(page)
    assert.equal(s.live, true)
    assert.equal(s.timelinePoints, rec.points)
    assert.equal(s.flameTopFunction, rec.top.function)
    const zoomed = await clickFrame(page, '#flame', 1)
    await page.waitForFunction((n) => window.leakhunt.flameZoomedRoot === n, zoomed)
    // New data: one more timeline point and one more flame node.
    const data = JSON.parse(readFileSync(rec.json, 'utf8'))
    const tl = data.timeline
    tl.t.push(tl.t[tl.t.length - 1] + 1)
    tl.rss_bytes.push(tl.rss_bytes[tl.rss_bytes.length - 1])
    if (tl.heap_inuse_bytes) tl.heap_inuse_bytes.push(null)
    data.flame.root.c.push({ n: 'new_frame', v: 1 })
    data.flame.root.v += 1
    // Replaced by a rename, as leakhunt writes it: the page's poll must never read half a file.
    writeFileSync(join(root, 'data', 'report.json.tmp'), JSON.stringify(data))
    renameSync(join(root, 'data', 'report.json.tmp'), join(root, 'data', 'report.json'))
    await page.waitForFunction((n) => window.leakhunt.timelinePoints === n, rec.points + 1, { timeout: 15000 })
    s = await state(page)
    assert.equal(s.flameZoomedRoot, zoomed)
    // Still zoomed: the zoomed frame spans the whole chart width.
    const widths = await page.evaluate((n) => {
      const svg = document.querySelector('#flame svg')
      for (const g of document.querySelectorAll('#flame g.frame')) {
        if (g.__data__.depth === 1 && g.__data__.data.n === n) return [Number(g.querySelector('rect').getAttribute('width')), Number(svg.getAttribute('width'))]
      }
      return null
    }, zoomed)
    assert.ok(widths && Math.abs(widths[0] - widths[1]) < 1, `zoomed frame spans the chart: ${widths}`)
    assert.deepEqual(page.errors, [])
    await page.screenshot({ path: join(ARTIFACTS, 'report-live.png'), fullPage: true })
    await page.close()
  } finally {
    child.kill()
  }
})

test('bad inputs: one line naming the file, exit 1; usage errors exit 2', () => {
  const run = (args) => spawnSync(join(BIN, 'leakhunt'), args, { encoding: 'utf8' })
  const notes = join(dir, 'notes.txt')
  writeFileSync(notes, 'hello\n')
  let r = run(['report', notes, '-o', join(dir, 'x.html')])
  assert.equal(r.status, 1)
  assert.equal(r.stderr.trim().split('\n').length, 1)
  assert.ok(r.stderr.startsWith(`leakhunt: error: cannot tell what ${notes} is: expected`), r.stderr)
  r = run(['report', '-o', join(dir, 'x.html')])
  assert.equal(r.status, 2)
  r = run(['report', rec.dir, '--target', '1', '-o', join(dir, 'x.html')])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /has no recording of that PID/)
})
