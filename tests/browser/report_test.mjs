// Browser tests of the HTML report and the live page, in headless Chromium (Debian's chromium
// driven by playwright-core). Run by ctest (tests/browser/CMakeLists.txt) as
//   node --test tests/browser/report_test.mjs
// with LEAKHUNT_BIN, LEAKHUNT_WEB_MODULES, LEAKHUNT_ARTIFACTS and LEAKHUNT_TEST_DATA set. Reports
// come from a real `leakhunt record` run of victim_leak and from a corpus trace; screenshots are
// kept in LEAKHUNT_ARTIFACTS.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync, renameSync, rmSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ARTIFACTS, BIN, launch, leakhunt, openPage, state, heapProfile } from './support.mjs'
import { formatBytes } from '../../web/src/format.js'

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
  // `top --json` of the snapshot the flame graph draws (the exit snapshot is left out of it).
  rec.flameFile = JSON.parse(readFileSync(rec.json, 'utf8')).flame.file
  rec.flameTop = leakhunt(['top', '--json', join(rec.dir, rec.flameFile)]).trim().split('\n').map((l) => JSON.parse(l))
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
  const wide = await page.evaluate(() => [window.leakhunt.timelineWidth])
  await page.setViewportSize({ width: 800, height: 900 })
  await page.waitForFunction((w) => window.leakhunt.timelineWidth < w - 200, wide[0])
  // (The flame graph's table moves below it in a narrow window: the graph takes the section's width.)
  await page.waitForFunction(() => { const box = document.querySelector('#flame .flame'); const w = Number(document.querySelector('#flame svg').getAttribute('width')); return w < 800 && Math.abs(w - box.clientWidth) < 3 })
  const canvas = await page.evaluate(() => document.querySelector('#timeline canvas').getBoundingClientRect().width)
  assert.ok(canvas <= 800, `the timeline's canvas is ${canvas} px wide in an 800 px window`)
  assert.equal((await state(page)).flameZoomedRoot, zoomed)
  assert.deepEqual(page.errors, [])
  await page.close()
})

test('record report without --title: the service names the page, the verdict comes first', async () => {
  const html = join(dir, 'untitled.html')
  leakhunt(['report', rec.dir, '-o', html])
  const pid = /^heap\.(\d+)\./.exec(rec.lastHeap.split('/').pop())[1]
  const page = await openPage(browser, pathToFileURL(html).href)
  assert.deepEqual(page.errors, [])
  assert.equal(await page.title(), `leakhunt report: victim_leak (PID ${pid})`)
  assert.equal(await page.locator('h1').textContent(), `leakhunt report: victim_leak (PID ${pid})`)
  // The verdict is the first section; the notes on what is missing come after everything else.
  const order = await page.evaluate(() => [...document.querySelectorAll('#leakhunt-app > section')].filter((e) => !e.hidden).map((e) => e.id))
  assert.equal(order[0], 'verdict')
  assert.equal(order[order.length - 1], 'notes')
  await page.close()
})

test('record report: axis titles, legend values without hovering, totals', async () => {
  const page = await openPage(browser, pathToFileURL(rec.html).href)
  const s = await state(page)
  const data = JSON.parse(readFileSync(rec.json, 'utf8'))
  assert.deepEqual(page.errors, [])
  assert.deepEqual(s.timelineAxes, ['time (UTC)', 'memory'])
  // Without the cursor on the chart the legend holds each line's last value.
  const legend = await page.locator('#timeline .u-legend .u-value').allTextContents()
  const last = (col) => col.filter((v) => v !== null).pop()
  assert.equal(legend[1], `${formatBytes(last(data.timeline.rss_bytes))} (last)`)
  assert.equal(legend[2], `${formatBytes(last(data.timeline.heap_inuse_bytes))} (last)`)
  // Totals: the peak and last RSS of the timeline file, the snapshot's in-use bytes as `top` sums them.
  const csv = readFileSync(join(rec.dir, readdirSync(rec.dir).find((f) => /^timeline\.\d+\.csv$/.test(f))), 'utf8').trim().split('\n')
  const rssAt = csv[0].split(',').indexOf('rss_bytes')
  const rss = csv.slice(1).map((l) => Number(l.split(',')[rssAt])).filter((v) => Number.isFinite(v))
  assert.equal(s.totals.peak_rss_bytes, Math.max(...rss))
  assert.equal(s.totals.last_rss_bytes, rss[rss.length - 1])
  assert.equal(s.totals.snapshot_inuse_bytes, rec.flameTop.reduce((sum, r) => sum + r.inuse_bytes, 0))
  assert.equal(s.totals.snapshot_inuse_objects, rec.flameTop.reduce((sum, r) => sum + r.inuse_objects, 0))
  assert.match(await page.locator('#totals').textContent(), /peak RSS/)
  await page.close()
})

test('record report: the table beside the flame graph is `top --json`, sizes on wide frames, search', async () => {
  const page = await openPage(browser, pathToFileURL(rec.html).href)
  const s = await state(page)
  assert.deepEqual(page.errors, [])
  assert.equal(s.flameTitleFile, rec.flameFile)
  const want = rec.flameTop.slice(0, s.flameTable.length)
  assert.ok(s.flameTable.length >= 2, `${s.flameTable.length} rows`)
  assert.deepEqual(s.flameTable.map((r) => [r.function, r.bytes, r.objects]), want.map((r) => [r.function, r.inuse_bytes, r.inuse_objects]))
  for (const [i, r] of s.flameTable.entries()) assert.ok(Math.abs(100 * r.share - want[i]['flat%']) < 1e-9, `share of ${r.function}`)
  const cells = await page.locator('#flame table.top tbody tr').first().locator('td').allTextContents()
  const first = rec.flameTop[0]
  assert.deepEqual(cells, [first.function, formatBytes(first.inuse_bytes), first.inuse_objects.toLocaleString('en-US'), `${first['flat%'].toFixed(1)}%`])
  // The root frame is as wide as the chart: it shows its size as text, its name stays its label.
  const root = await page.evaluate(() => {
    for (const g of document.querySelectorAll('#flame g.frame')) if (g.__data__.depth === 0) { const d = g.querySelector('div'); return [d.textContent, d.dataset.size] }
    return null
  })
  assert.deepEqual(root, ['all', formatBytes(s.flameRoot.value)])
  // Search: the frames whose name holds the text are highlighted, and only those.
  await page.fill('#flame input.flame-search', 'allocate_touched')
  await page.waitForFunction(() => window.leakhunt.flameSearch && window.leakhunt.flameSearch.term === 'allocate_touched')
  const marked = await page.evaluate(() => [...document.querySelectorAll('#flame g.frame')]
    .filter((g) => g.querySelector('rect').getAttribute('fill') === '#E600E6').map((g) => g.__data__.data.n))
  assert.ok(marked.length >= 1)
  for (const n of marked) assert.ok(n.toLowerCase().includes('allocate_touched'), n)
  assert.equal((await state(page)).flameSearch.matches, marked.length)
  await page.fill('#flame input.flame-search', '')
  await page.close()
})

test('record report: the diff flame graph is sized by growth, the growing site is the widest red frame', async () => {
  const page = await openPage(browser, pathToFileURL(rec.html).href)
  assert.deepEqual(page.errors, [])
  const frames = await page.evaluate(() => [...document.querySelectorAll('#diff-flame g.frame')].map((g) => ({
    name: g.__data__.data.n, leaf: !g.__data__.children, depth: g.__data__.depth, width: Number(g.querySelector('rect').getAttribute('width')),
    fill: g.querySelector('rect').getAttribute('fill')
  })))
  const red = (f) => { const m = /^rgb\((\d+),(\d+),(\d+)\)$/.exec(f.fill); return m && Number(m[1]) === 255 && Number(m[2]) < 128 }
  const widest = frames.filter((f) => f.leaf && f.depth > 0 && red(f)).sort((a, b) => b.width - a.width)[0]
  assert.ok(widest, JSON.stringify(frames))
  // The growing site: the top suspect, the function `top` ranks first.
  assert.equal(widest.name, rec.suspects[0].function)
  assert.equal((await state(page)).diffWidestRed, rec.suspects[0].function)
  // The scale legend names the whole growth, the root's width.
  const s = await state(page)
  assert.match(await page.locator('#diff-flame .scale').textContent(), new RegExp(`\\+${formatBytes(s.diffRoot.value).replace('.', '\\.')} \\(all growth\\)`))
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
  // Zoomed so that the "leak first detected" line is near the right edge: its label is drawn left
  // of the line, inside the plot.
  await page.dblclick('#timeline .u-over')
  await page.waitForFunction(() => window.leakhunt.timelineZoom === null)
  const full = await state(page)
  const at = (await page.evaluate(() => JSON.parse(document.getElementById('leakhunt-data').textContent).timeline.first_leak_at_s))
  const span = 300
  await page.mouse.move(over.x + 2, over.y + over.height / 2)
  await page.mouse.down()
  await page.mouse.move(over.x + over.width * (at / span) + 6, over.y + over.height / 2, { steps: 5 })
  await page.mouse.up()
  await page.waitForFunction(() => window.leakhunt.timelineZoom !== null)
  const s2 = await state(page)
  const label = s2.timelineLabels.find((l) => l.label === 'leak first detected')
  assert.ok(label, JSON.stringify(s2.timelineLabels))
  assert.ok(label.left >= s2.timelinePlot.left && label.right <= s2.timelinePlot.right, `label ${JSON.stringify(label)} inside ${JSON.stringify(s2.timelinePlot)} (unzoomed: ${JSON.stringify(full.timelineLabels)})`)
  await page.screenshot({ path: join(ARTIFACTS, 'report-corpus-leak-label.png'), fullPage: true })
  assert.deepEqual(s.timelineAxes, ['time since start', 'memory'])
  // Round ticks: whole multiples of one binary unit, whole seconds or minutes.
  assert.ok(s.timelineTicks.memory.length >= 3, JSON.stringify(s.timelineTicks))
  for (const t of s.timelineTicks.memory) assert.match(t, /^\d+ (B|KiB|MiB|GiB)$/)
  for (const t of s.timelineTicks.time) assert.match(t, /^(\d+(\.0)?s|\d+m(00|15|30|45)s)$/)
  assert.equal(await page.title(), 'leakhunt report: service_leak')
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
  // One heading per site, and under it the very lines `leakhunt paths DIR` prints for that site.
  const sites = await pageSites(page)
  assertSitesArePaths(sites, pathsBlocks(leakhunt(['paths', out])))
  assert.ok(sites.some((s) => s.lines.some((l) => /^  1,000 blocks \(.*\): global g_sessions \(heapscan_holders\)/.test(l))), JSON.stringify(sites))
  await page.screenshot({ path: join(ARTIFACTS, 'report-paths.png'), fullPage: true })
  await page.close()
})

test('a V8 heap snapshot: the dominator tree by class, the class table is `top --json`, paths by class', async () => {
  // A real node program holding 2,000 Sessions (4 KiB of text each) in a global Map.
  const script = join(dir, 'holder.js')
  writeFileSync(script, [
    'class Session { constructor (i) { this.id = i; this.text = String(i).padEnd(4096, "x") } }',
    'const cache = new Map()',
    'for (let i = 0; i < 2000; i++) cache.set(i, new Session(i))',
    'globalThis.cache = cache',
    'require("v8").writeHeapSnapshot(process.argv[2])'
  ].join('\n'))
  const snap = join(dir, 'holder.heapsnapshot')
  const run = spawnSync(process.execPath, [script, snap], { encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  const html = join(dir, 'heap.html')
  const json = join(dir, 'heap.json')
  leakhunt(['report', snap, '-o', html, '--data', json])
  const data = JSON.parse(readFileSync(json, 'utf8'))
  const top = leakhunt(['top', '--json', snap]).trim().split('\n').map((l) => JSON.parse(l))
  assert.deepEqual(data.heap_graph.classes, top.slice(0, 20))
  const paths = leakhunt(['paths', '--json', snap]).trim().split('\n').map((l) => JSON.parse(l))
  // Every path `paths` shows (5 per class at most) is a row headed by its class.
  const expected = paths.flatMap((c) => c.paths.slice(0, 5).filter((p) => p.steps.length).map((p) => [c.class, p.steps[0], p.count]))
  assert.deepEqual(data.retention_paths.map((r) => [r.site, r.root, r.blocks]), expected)
  const page = await openPage(browser, pathToFileURL(html).href)
  assert.deepEqual(page.errors, [])
  assert.equal(await page.isVisible('#heap-graph'), true)
  const s = await state(page)
  assert.equal(s.heapClasses, Math.min(20, top.length))
  // The widest chain down the dominator tree reaches the 2,000 Sessions as one frame.
  assert.ok(s.heapWidestChain.includes('Session \u00d7 2,000'), JSON.stringify(s.heapWidestChain))
  const firstRow = await page.locator('#heap-graph table tbody tr').first().locator('td').first().textContent()
  assert.equal(firstRow, top[0].class)
  await page.screenshot({ path: join(ARTIFACTS, 'report-heap-graph.png'), fullPage: true })
  await page.close()
})

// The site blocks of `leakhunt paths` text output: {heading line: [its lines]}.
function pathsBlocks (text) {
  const blocks = {}
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l !== '')
    if (lines.length && / are held by:$/.test(lines[0])) blocks[lines[0]] = lines
  }
  return blocks
}

// The page's retention sites: [{heading, lines}] in the order shown.
function pageSites (page) {
  return page.evaluate(() => [...document.querySelectorAll('#paths section.path-site')].map((s) => ({
    heading: s.querySelector('h3').textContent, lines: s.querySelector('pre.path-lines').textContent.split('\n')
  })))
}

// Each site of the page is a site of `paths`: its heading starts with the site's label, its
// lines are the lines `paths` printed for it (less a pattern's description `paths` may add).
function assertSitesArePaths (sites, blocks) {
  assert.ok(sites.length >= 1 && sites.length === Object.keys(blocks).length, `${JSON.stringify(sites)} vs ${JSON.stringify(blocks)}`)
  for (const s of sites) {
    const want = blocks[s.lines[0]]
    assert.ok(want, `${s.lines[0]} is a heading of \`paths\`: ${Object.keys(blocks)}`)
    assert.deepEqual(s.lines, want.slice(0, s.lines.length))
    const label = / allocated in (.*) are held by:$/.exec(s.lines[0])[1]
    assert.ok(s.heading.startsWith(label), `${s.heading} names ${label}`)
  }
}

// Starts `leakhunt record ARGS` of a program that prints "ready" and waits on stdin; resolves
// with {child, pid, closed, lines} once both the pid (record's stderr) and "ready" are seen.
function startRecorded (args) {
  const child = spawn(join(BIN, 'leakhunt'), ['record', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const closed = new Promise((resolve) => child.on('close', resolve))
  const readyCount = () => (stdout.match(/^ready$/gm) || []).length
  const waitReady = (n) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready (${n}): ${stdout} ${stderr}`)), 30000)
    const check = () => {
      const m = /recording pid (\d+)/.exec(stderr)
      if (m && readyCount() >= n) { clearTimeout(timer); resolve(m[1]) }
    }
    child.stderr.on('data', (d) => { stderr += d; check() })
    child.stdout.on('data', (d) => { stdout += d; check() })
    child.on('exit', (code) => reject(new Error(`record exited with ${code}: ${stderr}`)))
    check()
  })
  return { child, closed, waitReady }
}

test('record --all --leak-check of a known leak: headings by growth as `paths --base` gives them, leaked and exit totals exact', async () => {
  const out = join(dir, 'mapping')
  // heapscan_findings mapping leaks 262,288 bytes in 4 objects directly and 320 in 5 indirectly,
  // and holds 200 x 96 B through its own mapping; "more" adds 100 blocks there.
  const r = startRecorded(['--all', '--leak-check', '-o', out, '--', join(BIN, 'heapscan_findings'), 'mapping'])
  try {
    const pid = await r.waitReady(1)
    leakhunt(['snapshot', pid, '--scan'], { stdio: ['ignore', 'pipe', 'pipe'] })
    r.child.stdin.write('more\n')
    await r.waitReady(2)
    leakhunt(['snapshot', pid, '--scan'], { stdio: ['ignore', 'pipe', 'pipe'] })
    r.child.stdin.end('\n')
  } catch (e) {
    r.child.kill('SIGKILL')
    throw e
  }
  await r.closed
  const scans = readdirSync(out).filter((f) => /^heap\.\d+\.\d+\.scan$/.test(f)).sort()
  assert.ok(scans.length >= 3, `two scans and the exit scan: ${scans}`)
  const html = join(dir, 'mapping.html')
  const json = join(dir, 'mapping.json')
  leakhunt(['report', out, '-o', html, '--data', json])
  const data = JSON.parse(readFileSync(json, 'utf8'))
  const page = await openPage(browser, pathToFileURL(html).href)
  assert.deepEqual(page.errors, [])
  // Headings and lines: those of `paths LATEST --base FIRST`, the grown site first.
  const sites = await pageSites(page)
  const paths = leakhunt(['paths', join(out, scans[scans.length - 1]), '--base', join(out, scans[0])])
  assertSitesArePaths(sites, pathsBlocks(paths))
  // The grown site (100 more blocks of 96 B) comes first, named with its growth: the suspects'
  // rate when a suspect allocated there, else its growth since the base scan.
  assert.match(sites[0].heading, /^make_in_mapping \(heapscan_findings\.cpp:\d+\): (growing \+.*\/h \(suspect make_in_mapping\(\)\); )?\+9\.38 KiB since the base scan$/)
  if (data.suspects && data.suspects.length) assert.match(sites[0].heading, /growing/, 'the suspect of the snapshots names the site')
  // Leaked: as `leakhunt leaks` counts the latest scan, and as the victim leaks by construction.
  // (`leaks` exits 3 when it finds leaks.)
  const leaks = spawnSync(join(BIN, 'leakhunt'), ['leaks', '--json', out], { encoding: 'utf8' })
  assert.equal(leaks.status, 3, leaks.stderr)
  const summary = leaks.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((x) => x.type === 'summary')
  const t = data.totals
  assert.equal(t.leaked_bytes, 262288 + 320)
  assert.equal(t.leaked_objects, 4 + 5)
  assert.equal(t.leaked_direct_bytes, 262288)
  assert.deepEqual([t.leaked_bytes, t.leaked_objects], [summary.bytes, summary.objects])
  // Still allocated at exit: the exit snapshot, every allocation recorded, as `top` sums it.
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'))
  assert.equal(t.exit_snapshot, manifest.exit_snapshot)
  const exitTop = leakhunt(['top', '--json', '--top', '0', join(out, manifest.exit_snapshot)]).trim().split('\n').map((l) => JSON.parse(l))
  assert.equal(t.exit_inuse_bytes, exitTop.reduce((sum, x) => sum + x.inuse_bytes, 0))
  assert.equal(t.exit_inuse_objects, exitTop.reduce((sum, x) => sum + x.inuse_objects, 0))
  assert.equal(t.exit_exact, true)
  // The leaked blocks are still allocated at exit.
  assert.ok(t.exit_inuse_bytes >= t.leaked_bytes, JSON.stringify(t))
  // Every allocation recorded: the agent counted the temporary ones (its timeline's last value).
  const timeline = readdirSync(out).find((f) => /^timeline\.\d+\.csv$/.test(f))
  const lastRow = readFileSync(join(out, timeline), 'utf8').trim().split('\n').pop().split(',')
  assert.equal(t.temporary_allocations, Number(lastRow[lastRow.length - 1]))
  const totals = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#totals dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])))
  const count = (n) => n.toLocaleString('en-US')
  assert.equal(totals[`leaked (no root reaches them in ${t.leaked_scan})`],
    `${formatBytes(262608)} in 9 objects (${formatBytes(262288)} in 4 directly)`)
  assert.equal(totals[`still allocated at exit (${manifest.exit_snapshot})`], `${formatBytes(t.exit_inuse_bytes)} in ${count(t.exit_inuse_objects)} objects`)
  assert.equal(totals['temporary allocations (freed before their thread allocated again)'], count(t.temporary_allocations))
  await page.screenshot({ path: join(ARTIFACTS, 'report-paths-growth.png'), fullPage: true })
  await page.close()
})

test('three V8 heap snapshots: one heading per class of the leak set, the lines `paths` prints', async () => {
  // A program that keeps 300 Session objects more between each of its three snapshots.
  const graphs = join(dir, 'graphs')
  mkdirSync(graphs)
  const script = `
    const v8 = require('v8')
    class Session { constructor (i) { this.id = i; this.user = 'u' + i } }
    globalThis.kept = []
    for (let n = 1; n <= 3; n++) {
      for (let i = 0; i < 300; i++) globalThis.kept.push(new Session(i))
      v8.writeHeapSnapshot(${JSON.stringify(graphs)} + '/s' + n + '.heapsnapshot')
    }`
  execFileSync(process.execPath, ['-e', script])
  const files = ['s1', 's2', 's3'].map((n) => join(graphs, `${n}.heapsnapshot`))
  const html = join(dir, 'graphs.html')
  leakhunt(['report', ...files, '-o', html])
  const page = await openPage(browser, pathToFileURL(html).href)
  assert.deepEqual(page.errors, [])
  assert.equal(await page.title(), 'leakhunt report: s3')
  const sites = await pageSites(page)
  // `paths A B C` prints a block per class: its heading line, then its paths.
  const blocks = {}
  for (const block of leakhunt(['paths', ...files]).split('\n\n')) {
    const lines = block.split('\n').filter((l) => l !== '')
    if (lines.length && / are held by:$/.test(lines[0])) blocks[lines[0]] = lines
  }
  assert.equal(sites.length, Object.keys(blocks).length, JSON.stringify({ sites, blocks }))
  for (const s of sites) {
    const want = blocks[s.lines[0]]
    assert.ok(want, `${s.lines[0]} is a class of \`paths\`: ${Object.keys(blocks)}`)
    assert.deepEqual(s.lines, want.slice(0, s.lines.length))
  }
  const session = sites.find((s) => s.heading.startsWith('Session: '))
  assert.ok(session, JSON.stringify(sites.map((s) => s.heading)))
  assert.match(session.heading, /^Session: 300 objects of the leak set: objects new in .*s2\.heapsnapshot since .*s1\.heapsnapshot, still alive$/)
  await page.screenshot({ path: join(ARTIFACTS, 'report-heap-graphs.png'), fullPage: true })
  await page.close()
})

test('hostile site and holder names in `paths --json` are shown as text', async () => {
  const pathsJson = join(dir, 'hostile-paths.json')
  const site = { function: HOSTILE, via: '', file: '<b>x.cpp</b>', line: 7, label: `${HOSTILE} (<b>x.cpp</b>:7)` }
  writeFileSync(pathsJson, [
    { type: 'holder', root: `global ${HOSTILE}`, count: 2, bytes: 64 },
    { type: 'site', site, count: 2, bytes: 64, growth_bytes: 32, paths: [{ root: `global ${HOSTILE}`, count: 2, bytes: 64, hops: [{ site, offset: 0, offsets_vary: false, repeated: false }] }] }
  ].map((x) => JSON.stringify(x)).join('\n') + '\n')
  const html = join(dir, 'hostile-paths.html')
  leakhunt(['report', pathsJson, '-o', html])
  const page = await openPage(browser, pathToFileURL(html).href)
  assert.deepEqual(page.errors, [])
  assert.equal(await page.evaluate(() => window.__pwned), undefined)
  assert.equal(await page.evaluate(() => document.querySelectorAll('#paths img, #paths b').length), 0)
  const sites = await pageSites(page)
  assert.equal(sites.length, 1)
  assert.equal(sites[0].heading, `${site.label}: +32 B since the base scan`)
  assert.deepEqual(sites[0].lines, [
    `2 blocks (64 B, +32 B since the base scan) allocated in ${site.label} are held by:`,
    `  2 blocks (64 B): global ${HOSTILE}`,
    `      -> ${site.label}`])
  await page.close()
})

test('short recordings: sub-second time ticks, each label once', async () => {
  // The 4-s recording of victim_leak: wall-clock time, ticks a fraction of a second apart.
  let page = await openPage(browser, pathToFileURL(rec.html).href)
  let ticks = (await state(page)).timelineTicks.time
  assert.ok(ticks.length >= 4, JSON.stringify(ticks))
  for (const t of ticks) assert.match(t, /^\d\d:\d\d:\d\d\.\d$/)
  assert.equal(new Set(ticks).size, ticks.length, JSON.stringify(ticks))
  await page.close()
  // 3 s of samples since the start: 0.5s, 1.0s, ... (never 1s, 1s).
  const csv = join(dir, 'short.csv')
  let rows = 't_seconds,rss_bytes\n'
  for (let i = 0; i <= 60; i++) rows += `${(i * 0.05).toFixed(2)},${100000000 + i * 100000}\n`
  writeFileSync(csv, rows)
  const html = join(dir, 'short.html')
  leakhunt(['report', csv, '-o', html])
  page = await openPage(browser, pathToFileURL(html).href)
  ticks = (await state(page)).timelineTicks.time
  assert.ok(ticks.length >= 4, JSON.stringify(ticks))
  for (const t of ticks) assert.match(t, /^\d\.\ds$/)
  assert.equal(new Set(ticks).size, ticks.length, JSON.stringify(ticks))
  const step = Number(ticks[1].slice(0, -1)) - Number(ticks[0].slice(0, -1))
  assert.ok([0.1, 0.2, 0.5].some((x) => Math.abs(step - x) < 1e-9), `a step of ${step} s`)
  assert.deepEqual(page.errors, [])
  await page.screenshot({ path: join(ARTIFACTS, 'report-short.png'), fullPage: true })
  await page.close()
})

test("soak's series.csv: the report is titled by the soaked service", async () => {
  const out = join(dir, 'soak')
  const r = spawnSync(join(BIN, 'leakhunt'), ['soak', '--duration', '3s', '--warmup', '0s', '--interval', '0.1', '--load', 'sleep 30', '-o', out, '--',
    join(BIN, 'victim_steady'), '--seconds', '30'], { encoding: 'utf8', timeout: 60000 })
  assert.ok([0, 3].includes(r.status), r.stderr)
  const verdict = JSON.parse(readFileSync(join(out, 'verdict.json'), 'utf8'))
  assert.equal(verdict.command[0], join(BIN, 'victim_steady'))
  const html = join(dir, 'soak.html')
  leakhunt(['report', join(out, 'series.csv'), '-o', html])
  const page = await openPage(browser, pathToFileURL(html).href)
  assert.deepEqual(page.errors, [])
  assert.equal(await page.title(), 'leakhunt report: victim_steady')
  assert.equal(await page.locator('h1').textContent(), 'leakhunt report: victim_steady')
  await page.close()
  // Without the verdict.json beside it, the file's name is all there is.
  const alone = join(dir, 'soak-alone')
  mkdirSync(alone)
  copyFileSync(join(out, 'series.csv'), join(alone, 'series.csv'))
  const html2 = join(dir, 'soak-alone.html')
  leakhunt(['report', join(alone, 'series.csv'), '-o', html2])
  assert.match(readFileSync(html2, 'utf8'), /<title>leakhunt report: series<\/title>/)
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
