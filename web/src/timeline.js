// The memory timeline: RSS and heap in-use over time (uPlot), the memory limit as a line, the
// fitted baseline trend over the stretch it was fitted on, restarts as dashed markers and the
// moment the leak was first detected as a red marker. Drag to zoom, double-click to reset; the
// data is downsampled per pixel for the visible range on every zoom. A redraw with new data
// (live mode) keeps the zoomed range.
import uPlot from 'uplot'
import { downsample } from './downsample.js'
import { formatBytes, formatDuration, formatRate, formatTimeTick, roundBytes } from './format.js'
import { chartWidth, followWidth } from './width.js'

const COLORS = { rss: '#c0392b', heap: '#2471a3', limit: '#7f8c8d', trend: '#e67e22' }

// Tick steps: whole binary units (1, 2, 5, 10, ... KiB, MiB, GiB) for memory and tenths of a
// second, seconds, minutes, hours and days for time (the same steps since the start and in UTC,
// which has no offset from the epoch), so that every tick reads as a round number.
const BYTE_STEPS = []
for (let unit = 1; unit <= 1024 ** 5; unit *= 1024) {
  for (const m of [1, 2, 5, 10, 20, 50, 100, 200, 500]) BYTE_STEPS.push(m * unit)
}
const SECOND_STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
  7200, 10800, 21600, 43200, 86400, 172800, 604800, 2592000]

// The last non-null value of a column (the legend's value when the cursor is off the chart).
function lastValue (column) {
  for (let i = column.length - 1; i >= 0; i--) if (column[i] !== null && column[i] !== undefined) return column[i]
  return null
}

function markersPlugin (getMarkers, onLabels) {
  return {
    hooks: {
      draw: [(u) => {
        const { ctx } = u
        const { top, height } = u.bbox
        const drawn = []
        ctx.save()
        for (const m of getMarkers()) {
          const x = Math.round(u.valToPos(m.x, 'x', true))
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue
          ctx.strokeStyle = m.color
          ctx.lineWidth = m.width * uPlot.pxRatio
          ctx.setLineDash(m.dash.map((d) => d * uPlot.pxRatio))
          ctx.beginPath()
          ctx.moveTo(x, top)
          ctx.lineTo(x, top + height)
          ctx.stroke()
          if (m.label) {
            // Right of the line when it fits inside the plot, else left of it: never clipped.
            ctx.setLineDash([])
            ctx.fillStyle = m.color
            ctx.font = `${11 * uPlot.pxRatio}px sans-serif`
            ctx.textAlign = 'left'
            ctx.textBaseline = 'alphabetic'
            const w = ctx.measureText(m.label).width
            const gap = 4 * uPlot.pxRatio
            const right = u.bbox.left + u.bbox.width
            const lx = x + gap + w <= right ? x + gap : Math.max(u.bbox.left, x - gap - w)
            ctx.fillText(m.label, lx, top + 12 * uPlot.pxRatio)
            drawn.push({ label: m.label, left: lx / uPlot.pxRatio, right: (lx + w) / uPlot.pxRatio })
          }
        }
        ctx.restore()
        onLabels(drawn, { left: u.bbox.left / uPlot.pxRatio, right: (u.bbox.left + u.bbox.width) / uPlot.pxRatio })
      }]
    }
  }
}

export class Timeline {
  constructor (container, state) {
    this.container = container
    this.state = state
    this.plot = null
    this.raw = null
    this.inHook = false
    // Follow the page's width: resize the chart and thin the points again for the new width.
    followWidth(container, () => this.plot && this.raw ? this.plot.width : null, (width) => this.fit(width))
  }

  fit (width) {
    const u = this.plot
    this.inHook = true
    u.setSize({ width, height: u.height })
    u.setData(this.dataFor(u.scales.x.min, u.scales.x.max), false)
    this.inHook = false
    this.state.timelineWidth = width
  }

  // The tick labels last drawn on an axis, kept for tests (state.timelineTicks).
  ticks (axis, labels) {
    this.state.timelineTicks = { ...this.state.timelineTicks, [axis]: labels }
    return labels
  }

  // Raw arrays of the data's timeline: x values, the value columns and their labels.
  prepare (tl) {
    const offset = Number.isFinite(tl.epoch_offset_s) ? tl.epoch_offset_s : 0
    const t = offset ? tl.t.map((x) => x + offset) : tl.t
    const columns = [tl.rss_bytes]
    const labels = ['RSS']
    const colors = [COLORS.rss]
    if (Array.isArray(tl.heap_inuse_bytes)) {
      columns.push(tl.heap_inuse_bytes)
      labels.push('heap in use')
      colors.push(COLORS.heap)
    }
    return { t, columns, labels, colors, offset, tl }
  }

  // uPlot's data for [min, max]: time, value columns, then limit and trend computed per x.
  dataFor (min, max) {
    const r = this.raw
    const width = Math.max(200, Math.floor(this.container.clientWidth || 1000))
    const ds = downsample(r.t, r.columns, min, max, width)
    const out = [ds.t, ...ds.columns]
    const limit = r.tl.limit_bytes
    if (Number.isFinite(limit)) out.push(ds.t.map(() => limit))
    const tr = r.tl.trend
    if (tr) {
      const from = tr.from_s + r.offset
      const to = tr.to_s + r.offset
      out.push(ds.t.map((x) => (x >= from && x <= to) ? tr.intercept + tr.slope_per_s * (x - r.offset) : null))
    }
    this.state.timelineDrawnPoints = ds.t.length
    return out
  }

  markers () {
    const r = this.raw
    if (!r) return []
    const ms = []
    for (const s of r.tl.restarts_s || []) ms.push({ x: s + r.offset, color: '#8e44ad', width: 1.5, dash: [5, 4], label: 'restart' })
    if (Number.isFinite(r.tl.first_leak_at_s)) ms.push({ x: r.tl.first_leak_at_s + r.offset, color: '#e74c3c', width: 2, dash: [], label: 'leak first detected' })
    return ms
  }

  render (tl) {
    const previous = this.plot
    let keep = null
    if (previous && this.raw) {
      const { min, max } = previous.scales.x
      const t = this.raw.t
      if (min > t[0] + 1e-9 || max < t[t.length - 1] - 1e-9) keep = { min, max }
    }
    this.raw = this.prepare(tl)
    const r = this.raw
    this.state.timelinePoints = r.t.length
    this.state.timelineMaxRss = r.columns[0].reduce((m, v) => (v !== null && v > m ? v : m), -Infinity)
    this.state.timelineSeries = r.labels.slice()
    const n = r.t.length
    const min = keep ? keep.min : r.t[0]
    const max = keep ? keep.max : r.t[n - 1]
    const data = this.dataFor(min, max)
    if (previous && previous.series.length === data.length) {
      this.inHook = true
      previous.setData(data, !keep)
      if (keep) previous.setScale('x', keep)
      this.inHook = false
      this.state.timelineZoom = keep
      return
    }
    if (previous) previous.destroy()
    // Off the chart the legend shows each line's last value (its slope for the trend), so the
    // figures are there without hovering; on the chart, the values under the cursor.
    const timeText = (v) => v === null ? '–' : (r.offset ? new Date(v * 1000).toISOString().replace('T', ' ').slice(0, 19) : formatDuration(v))
    const bytesValue = (u, v, sidx, idx) => idx === null ? `${formatBytes(lastValue(u.data[sidx]))} (last)` : formatBytes(v)
    const series = [{ label: 'time', value: (u, v, sidx, idx) => idx === null ? `${timeText(lastValue(u.data[0]))} (last)` : timeText(v) }]
    r.labels.forEach((label, i) => series.push({ label, stroke: r.colors[i], width: 1.5, value: bytesValue }))
    if (Number.isFinite(tl.limit_bytes)) series.push({ label: 'limit', stroke: COLORS.limit, width: 1.5, dash: [8, 4], value: (u, v, sidx, idx) => formatBytes(idx === null ? tl.limit_bytes : v) })
    if (tl.trend) series.push({ label: 'fitted trend', stroke: COLORS.trend, width: 2, dash: [3, 3], value: (u, v, sidx, idx) => idx === null ? formatRate(tl.trend.slope_per_s * 3600) : formatBytes(v), spanGaps: false })
    const opts = {
      width: chartWidth(this.container),
      height: 320,
      series,
      scales: { x: { time: !!r.offset } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      axes: [
        {
          label: r.offset ? 'time (UTC)' : 'time since start',
          incrs: SECOND_STEPS,
          values: (u, vals, axis, space, step) => this.ticks('time', vals.map((v) => formatTimeTick(v, step, !!r.offset)))
        },
        { label: 'memory', size: 70, incrs: BYTE_STEPS, values: (u, vals, axis, space, step) => this.ticks('memory', vals.map((v) => roundBytes(v, step))) }
      ],
      cursor: { drag: { x: true, y: false } },
      plugins: [markersPlugin(() => this.markers(), (labels, plot) => { this.state.timelineLabels = labels; this.state.timelinePlot = plot })],
      hooks: {
        setScale: [(u, key) => {
          if (key !== 'x' || this.inHook || !this.raw) return
          this.inHook = true
          u.setData(this.dataFor(u.scales.x.min, u.scales.x.max), false)
          this.inHook = false
          const t = this.raw.t
          const zoomed = u.scales.x.min > t[0] + 1e-9 || u.scales.x.max < t[t.length - 1] - 1e-9
          this.state.timelineZoom = zoomed ? { min: u.scales.x.min, max: u.scales.x.max } : null
        }]
      }
    }
    this.inHook = true
    this.plot = new uPlot(opts, data, this.container)
    this.inHook = false
    this.state.timelineAxes = this.plot.axes.map((a) => a.label)
    this.state.timelineWidth = opts.width
    if (keep) this.plot.setScale('x', keep)
  }
}
