// Flame graphs (d3-flame-graph) of a heap profile's in-use memory and of the growth between two
// snapshots. Nodes come from the report data as {n: name, v: bytes, c: children, f: "file:line",
// d: change in bytes (diff only)}; the root is "all". Click a frame to zoom into it, click the
// root to zoom out. A redraw with new data (live mode) zooms back into the same frame path.
// Frames wide enough show their size after the name; a search highlights the frames whose name
// holds the text.
import { select } from 'd3-selection'
import flamegraph from 'd3-flame-graph/src/flamegraph.js'
import { formatBytes } from './format.js'
import { chartWidth, followWidth } from './width.js'

// Frames at least this wide (px) show their size as text.
const SIZE_LABEL_MIN_PX = 150

// The diff tree sized by growth: each frame's width is the bytes its own sites and its callees'
// sites grew by (a site's own change is its d less its children's); what only shrank or stayed
// has no width and is left out. d stays the frame's net change. Null when nothing grew.
export function growthTree (node) {
  const kids = []
  let childDelta = 0
  for (const c of node.c || []) {
    childDelta += Number.isFinite(c.d) ? c.d : 0
    const g = growthTree(c)
    if (g) kids.push(g)
  }
  const own = Math.max(0, (Number.isFinite(node.d) ? node.d : 0) - childDelta)
  const v = own + kids.reduce((sum, k) => sum + k.v, 0)
  if (v <= 0) return null
  const out = { n: node.n, v, d: node.d }
  if (node.f) out.f = node.f
  if (kids.length) out.c = kids
  return out
}

// Red in proportion to growth as a share of the largest growth (the root's), blue for shrinking:
// the same scale as the legend beside the graph.
export function growthColor (delta, maxGrowth) {
  const t = maxGrowth > 0 && Number.isFinite(delta) ? Math.max(-1, Math.min(1, delta / maxGrowth)) : 0
  const fade = Math.round(235 * (1 - Math.abs(t)))
  if (t > 0) return `rgb(255,${fade},${fade})`
  if (t < 0) return `rgb(${fade},${fade},255)`
  return 'rgb(235,235,235)'
}

function pathOf (node) {
  const names = []
  for (let d = node; d; d = d.parent) names.push(d.data.n)
  return names.reverse()
}

function findPath (root, names) {
  let d = root
  for (let i = 1; i < names.length && d; i++) {
    d = (d.children || []).find((c) => c.data.n === names[i])
  }
  return d || null
}

export class Flame {
  // kind: 'inuse' or 'diff' (a growthTree); onZoom(names) is told the zoomed frame path.
  constructor (container, details, kind, onZoom) {
    this.container = container
    this.details = details
    this.kind = kind
    this.onZoom = onZoom
    this.chart = null
    this.signature = null
    this.zoomPath = null
    // Follow the page's width (the graph keeps its zoom).
    followWidth(container, () => this.chart ? this.chart.width() : null, (width) => this.fit(width))
  }

  fit (width) {
    this.chart.width(width)
    this.chart.update()
    this.zoomTo()
    this.sizeLabels()
  }

  // The size of each frame wide enough, after its name (a data attribute the style sheet shows,
  // so the label's text stays the name alone). foreignObject widths are set synchronously; the
  // frames' rectangles get theirs on d3's next timer ticks, so they are given the same width now
  // (a page drawn, or captured, between the ticks never shows a label wider than its frame).
  sizeLabels () {
    for (const g of this.container.querySelectorAll('g.frame')) {
      const d = g.__data__
      const div = g.querySelector('foreignObject div')
      const rect = g.querySelector('rect')
      if (!d || !div) continue
      const width = g.querySelector('foreignObject').getAttribute('width')
      if (rect && width !== null) rect.setAttribute('width', width)
      const wide = Number(width) >= SIZE_LABEL_MIN_PX
      div.dataset.size = wide ? this.sizeText(d) : ''
    }
  }

  sizeText (d) {
    return this.kind === 'diff' ? `+${formatBytes(d.value)}` : formatBytes(d.value)
  }

  // Highlights the frames whose name holds `term` (case-insensitive, plain text); returns how
  // many frames matched and the bytes under them.
  search (term) {
    if (!this.chart) return { matches: 0, bytes: 0 }
    const needle = String(term || '').toLowerCase()
    this.chart.search(needle)
    let matches = 0
    let bytes = 0
    for (const g of this.container.querySelectorAll('g.frame')) {
      const d = g.__data__
      if (!d || !d.highlight) continue
      matches++
      let outer = true
      for (let p = d.parent; p; p = p.parent) if (p.highlight) outer = false
      if (outer) bytes += d.value
    }
    this.searchResult = { term: needle, matches, bytes }
    this.details.textContent = needle
      ? `search "${needle}": ${matches} frame${matches === 1 ? '' : 's'}, ${formatBytes(bytes)} (${(100 * bytes / (this.rootValue || 1)).toFixed(1)}%)`
      : ''
    this.sizeLabels()
    return this.searchResult
  }

  zoomTo () {
    if (!this.zoomPath) return
    const node = findPath(select(this.container).datum(), this.zoomPath)
    if (node) this.chart.zoomTo(node)
    else this.zoomPath = null
  }

  label (d) {
    const total = this.rootValue || 1
    let s = this.kind === 'diff'
      ? `${d.data.n}: grew ${formatBytes(d.value)} (${(100 * d.value / total).toFixed(2)}% of the growth)`
      : `${d.data.n}: ${formatBytes(d.value)} (${(100 * d.value / total).toFixed(2)}%)`
    if (this.kind === 'diff' && Number.isFinite(d.data.d)) s += `, net change ${d.data.d >= 0 ? '+' : ''}${formatBytes(d.data.d)}`
    if (d.data.f) s += ` at ${d.data.f}`
    return s
  }

  render (tree) {
    const signature = JSON.stringify(tree)
    if (signature === this.signature) return
    this.signature = signature
    this.rootValue = tree.v
    const width = chartWidth(this.container)
    if (!this.chart) {
      this.chart = flamegraph()
        .width(width)
        .cellHeight(18)
        .transitionDuration(0)
        .minFrameSize(1)
        .sort(false)
        .setDetailsElement(this.details)
        .setLabelHandler((d) => this.label(d))
        .onClick((d) => {
          this.zoomPath = d.parent ? pathOf(d) : null
          this.onZoom(pathOf(d))
          this.sizeLabels()
        })
        .setSearchMatch((d, term) => !!term && String(d.data.n).toLowerCase().includes(term))
        .setSearchHandler(() => {})
      if (this.kind === 'diff') this.chart.setColorMapper((d) => d.highlight ? '#e600e6' : growthColor(d.data.d, this.rootValue))
      select(this.container).datum(tree).call(this.chart)
    } else {
      this.chart.update(tree)
    }
    this.zoomTo()
    if (this.searchResult && this.searchResult.term) this.search(this.searchResult.term)
    this.sizeLabels()
  }
}
