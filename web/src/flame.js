// Flame graphs (d3-flame-graph) of a heap profile's in-use memory and of the change between two
// snapshots. Nodes come from the report data as {n: name, v: bytes, c: children, f: "file:line",
// d: change in bytes (diff only)}; the root is "all". Click a frame to zoom into it, click the
// root to zoom out. A redraw with new data (live mode) zooms back into the same frame path.
import { select } from 'd3-selection'
import flamegraph from 'd3-flame-graph/src/flamegraph.js'
import { differentialColorMapper } from 'd3-flame-graph/src/colorMapper.js'
import { formatBytes } from './format.js'
import { chartWidth, followWidth } from './width.js'

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
  // kind: 'inuse' or 'diff'; onZoom(names) is told the zoomed frame path.
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
  }

  zoomTo () {
    if (!this.zoomPath) return
    const node = findPath(select(this.container).datum(), this.zoomPath)
    if (node) this.chart.zoomTo(node)
    else this.zoomPath = null
  }

  label (d) {
    const total = this.rootValue || 1
    let s = `${d.data.n}: ${formatBytes(d.value)} (${(100 * d.value / total).toFixed(2)}%)`
    if (this.kind === 'diff' && Number.isFinite(d.data.d)) s += `, change ${d.data.d >= 0 ? '+' : ''}${formatBytes(d.data.d)}`
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
        })
      if (this.kind === 'diff') this.chart.setColorMapper(differentialColorMapper)
      select(this.container).datum(tree).call(this.chart)
    } else {
      this.chart.update(tree)
    }
    this.zoomTo()
  }
}
