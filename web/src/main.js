// The report page: reads the report data (ReportData JSON, built by src/report) from the
// embedded <script id="leakhunt-data"> block, or, when served live, from the URL in the app
// element's data-url attribute or the page's ?data= parameter (same origin only), re-fetched
// every few seconds. Sections appear only when their data is present. What was drawn is exposed
// as window.leakhunt for tests and benchmarks.
import 'uplot/dist/uPlot.min.css'
import 'd3-flame-graph/src/flamegraph.css'
import './style.css'
import { el, formatBytes } from './format.js'
import { Timeline } from './timeline.js'
import { Flame, growthTree, growthColor } from './flame.js'
import { renderHeader, renderNotes, renderVerdict, renderTotals, renderSuspects, renderPaths, renderPathSites, renderFlameTable, renderHeapClasses } from './sections.js'

const state = {
  ready: false,
  renders: 0,
  live: false,
  timelinePoints: 0,
  timelineSamples: 0,
  timelineMaxRss: null,
  timelineDrawnPoints: 0,
  timelineSeries: [],
  timelineZoom: null,
  flameRoot: null,
  flameTopFunction: null,
  flameZoomedRoot: null,
  flameTable: [],
  flameTitleFile: null,
  flameSearch: null,
  diffRoot: null,
  diffZoomedRoot: null,
  diffWidestRed: null,
  timelineAxes: [],
  timelineTicks: {},
  timelineLabels: [],
  totals: null,
  suspectsRows: 0,
  pathsCount: 0,
  heapClasses: 0,
  heapWidestChain: [],
  pathSites: [],
  missing: [],
  drawnAt: null,
  error: null
}
window.leakhunt = state

function section (id, extraClass) {
  const s = el('section', { id, class: extraClass })
  s.hidden = true
  return s
}

// The leaf function holding the most bytes: the sum of each frame name's self value.
function topFunction (tree) {
  const self = new Map()
  const stack = [tree]
  while (stack.length) {
    const n = stack.pop()
    const kids = n.c || []
    let childSum = 0
    for (const k of kids) { childSum += k.v; stack.push(k) }
    const own = n.v - childSum
    if (n !== tree && own > 0 && n.n !== 'other') self.set(n.n, (self.get(n.n) || 0) + own)
  }
  let best = null
  let bestV = -1
  for (const [k, v] of self) if (v > bestV || (v === bestV && k < best)) { best = k; bestV = v }
  return best
}

// The chain of widest frames from the root down: what a person reads first in the dominator tree.
function widestChain (tree) {
  const names = []
  for (let n = tree; n && n.c && n.c.length;) {
    n = n.c.reduce((a, b) => (b.v > a.v ? b : a))
    names.push(n.n)
  }
  return names
}

// The frame without callees that grew the most: the growing site, widest and reddest.
function widestLeaf (tree) {
  let best = null
  const stack = [tree]
  while (stack.length) {
    const n = stack.pop()
    if (n.c) stack.push(...n.c)
    else if (n !== tree && n.n !== 'other' && (!best || n.v > best.v)) best = n
  }
  return best ? best.n : null
}

// The diff flame graph's colour scale: from no growth to all of it.
function scale (maxGrowth) {
  const bar = el('span', { class: 'scale-bar' })
  bar.style.background = `linear-gradient(to right, ${growthColor(0, 1)}, ${growthColor(0.5, 1)}, ${growthColor(1, 1)})`
  return [el('span', { text: 'shrank / no growth' }), bar, el('span', { text: `+${formatBytes(maxGrowth)} (all growth)` })]
}

class Page {
  constructor (app) {
    this.app = app
    this.header = el('header')
    this.status = el('p', { class: 'status' })
    this.status.hidden = true
    this.notes = section('notes', 'notes')
    this.verdict = section('verdict')
    this.timelineSec = section('timeline')
    this.timelineBox = el('div', { class: 'chart' })
    this.timelineSec.append(el('h2', { text: 'Memory over time' }),
      el('p', { class: 'hint', text: 'Drag to zoom, double-click to reset.' }), this.timelineNote = el('p', { class: 'hint' }), this.timelineBox)
    this.suspects = section('suspects')
    this.flameSec = section('flame')
    this.flameTitle = el('h2')
    this.flameDetails = el('p', { class: 'details' })
    this.flameBox = el('div', { class: 'flame' })
    this.flameSearch = el('input', { type: 'search', class: 'flame-search', placeholder: 'search functions', 'aria-label': 'search the flame graph' })
    this.flameSearch.addEventListener('input', () => { state.flameSearch = this.flame.search(this.flameSearch.value) })
    this.flameTable = el('div', { class: 'flame-table' })
    this.flameSec.append(this.flameTitle,
      el('p', { class: 'hint', text: 'Click a frame to zoom, click the root to zoom out. The table: the functions holding the most, as `leakhunt top` ranks them.' }),
      this.flameSearch,
      el('div', { class: 'flame-layout' }, el('div', null, this.flameBox, this.flameDetails), this.flameTable))
    this.diffSec = section('diff-flame')
    this.diffTitle = el('h2')
    this.diffDetails = el('p', { class: 'details' })
    this.diffBox = el('div', { class: 'flame' })
    this.diffScale = el('div', { class: 'scale' })
    this.diffSec.append(this.diffTitle, el('p', { class: 'hint', text: 'Width: the bytes each call stack grew by between the snapshots (what only shrank is left out); colour: growth as a share of all growth, on this scale:' }), this.diffScale, this.diffBox, this.diffDetails)
    this.heapSec = section('heap-graph')
    this.heapTitle = el('h2')
    this.heapDetails = el('p', { class: 'details' })
    this.heapBox = el('div', { class: 'flame' })
    this.heapTable = el('div', { class: 'flame-table' })
    this.heapSec.append(this.heapTitle,
      el('p', { class: 'hint', text: 'The dominator tree grouped by class: each frame is the objects of one class that the frame above keeps alive, its width what they retain (what would be freed with them). Click a frame to zoom. The table: the biggest classes by retained size, as `leakhunt top` ranks them.' }),
      el('div', { class: 'flame-layout' }, el('div', null, this.heapBox, this.heapDetails), this.heapTable))
    this.totals = section('totals')
    this.paths = section('paths')
    app.replaceChildren(this.header, this.status, this.verdict, this.totals, this.timelineSec, this.suspects, this.flameSec, this.diffSec, this.heapSec, this.paths, this.notes)
    this.timeline = new Timeline(this.timelineBox, state)
    this.flame = new Flame(this.flameBox, this.flameDetails, 'inuse', (names) => { state.flameZoomedRoot = names[names.length - 1] })
    this.diff = new Flame(this.diffBox, this.diffDetails, 'diff', (names) => { state.diffZoomedRoot = names[names.length - 1] })
    this.heap = new Flame(this.heapBox, this.heapDetails, 'inuse', () => {})
  }

  render (data) {
    renderHeader(this.header, data)
    if (data.title) document.title = data.title
    renderNotes(this.notes, data)
    state.missing = data.missing || []

    this.verdict.hidden = !data.verdict
    if (data.verdict) renderVerdict(this.verdict, data.verdict)

    const tl = data.timeline
    this.timelineSec.hidden = !(tl && Array.isArray(tl.t) && tl.t.length > 0)
    if (!this.timelineSec.hidden) this.timeline.render(tl)
    // A long timeline comes reduced to the lowest and highest RSS per pixel column (the verdict
    // above read every sample); say so, with both counts.
    const reduced = !this.timelineSec.hidden && Number.isFinite(tl.samples) && tl.samples > tl.t.length
    this.timelineNote.hidden = !reduced
    this.timelineNote.textContent = reduced
      ? `${tl.samples.toLocaleString('en-US')} samples, drawn as the lowest and highest RSS of each of ${Math.ceil(tl.t.length / 2).toLocaleString('en-US')} time columns (${tl.t.length.toLocaleString('en-US')} points); the verdict used every sample.`
      : ''
    state.timelineSamples = tl && Number.isFinite(tl.samples) ? tl.samples : 0

    const suspects = Array.isArray(data.suspects) ? data.suspects : null
    this.suspects.hidden = !(suspects && suspects.length)
    if (!this.suspects.hidden) renderSuspects(this.suspects, suspects)
    state.suspectsRows = suspects ? suspects.length : 0

    this.totals.hidden = !renderTotals(this.totals, data.totals)
    state.totals = data.totals || null

    const fl = data.flame
    this.flameSec.hidden = !(fl && fl.root)
    if (fl && fl.root) {
      this.flameTitle.textContent = `In-use memory by call stack: ${fl.file || ''}`
      this.flame.render(fl.root)
      state.flameRoot = { name: fl.root.n, value: fl.root.v }
      state.flameTopFunction = topFunction(fl.root)
      state.flameTable = Array.isArray(fl.top) ? fl.top : []
      state.flameTitleFile = fl.file || null
      renderFlameTable(this.flameTable, state.flameTable)
      if (!state.flameZoomedRoot) state.flameZoomedRoot = fl.root.n
    }

    const df = data.diff_flame
    const grown = df && df.root ? growthTree(df.root) : null
    this.diffSec.hidden = !(df && df.root)
    if (df && df.root) {
      this.diffTitle.textContent = `Growth between snapshots: ${df.from || ''} → ${df.to || ''}`
      this.diffBox.hidden = !grown
      this.diffScale.replaceChildren(...scale(grown ? grown.v : 0))
      if (grown) this.diff.render(grown)
      else this.diffDetails.textContent = `nothing grew between the snapshots (net change ${formatBytes(df.root.d)})`
      state.diffRoot = { name: df.root.n, value: grown ? grown.v : 0, delta: df.root.d }
      state.diffWidestRed = grown ? widestLeaf(grown) : null
      if (!state.diffZoomedRoot) state.diffZoomedRoot = df.root.n
    }

    const hg = data.heap_graph
    this.heapSec.hidden = !(hg && hg.dominators)
    if (hg && hg.dominators) {
      this.heapTitle.textContent = `What holds the heap: ${hg.file || ''} (${formatBytes(hg.heap_bytes)} reachable)`
      this.heap.render(hg.dominators)
      renderHeapClasses(this.heapTable, Array.isArray(hg.classes) ? hg.classes : [])
      state.heapClasses = Array.isArray(hg.classes) ? hg.classes.length : 0
      state.heapWidestChain = widestChain(hg.dominators)
    }

    const paths = Array.isArray(data.retention_paths) ? data.retention_paths : null
    const sites = Array.isArray(data.retention_sites) && data.retention_sites.length ? data.retention_sites : null
    this.paths.hidden = !(sites || (paths && paths.length))
    if (sites) renderPathSites(this.paths, sites)
    else if (!this.paths.hidden) renderPaths(this.paths, paths)
    state.pathsCount = paths ? paths.length : 0
    state.pathSites = sites ? sites.map((s) => ({ heading: s.heading, lines: s.lines })) : []

    state.renders++
    if (!state.ready) {
      // Drawn means painted: the frame after this one has started, so the browser has laid out
      // and painted what was built (uPlot also draws on the next animation frame).
      requestAnimationFrame(() => setTimeout(() => {
        performance.mark('leakhunt-drawn')
        state.drawnAt = performance.now()
        state.ready = true
      }, 0))
    }
  }

  showStatus (text) {
    this.status.hidden = !text
    this.status.textContent = text || ''
  }
}

function liveUrl (app) {
  const param = new URLSearchParams(window.location.search).get('data')
  const raw = param || app.dataset.url
  if (!raw) return null
  const url = new URL(raw, window.location.href)
  if (url.origin !== window.location.origin) throw new Error(`refusing to load report data from another origin: ${url.origin}`)
  return url
}

async function poll (page, url, everyMs) {
  try {
    const response = await fetch(url, { cache: 'no-store' })
    if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status}`)
    page.render(await response.json())
    page.showStatus(`live: updated ${new Date().toLocaleTimeString()}`)
  } catch (e) {
    state.error = String(e.message || e)
    page.showStatus(`live: cannot update (${state.error}); retrying`)
  }
  setTimeout(() => poll(page, url, everyMs), everyMs)
}

function boot () {
  const app = document.getElementById('leakhunt-app') || document.body.appendChild(el('div', { id: 'leakhunt-app' }))
  const page = new Page(app)
  let url
  try {
    url = liveUrl(app)
  } catch (e) {
    state.error = e.message
    page.showStatus(e.message)
    return
  }
  if (url) {
    state.live = true
    const every = Math.max(500, Number(app.dataset.refreshMs) || 5000)
    poll(page, url, every)
    return
  }
  const block = document.getElementById('leakhunt-data')
  if (!block) {
    state.error = 'this page has no report data (no leakhunt-data block and no data-url)'
    page.showStatus(state.error)
    return
  }
  page.render(JSON.parse(block.textContent))
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot)
else boot()
