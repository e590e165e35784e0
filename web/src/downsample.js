// Per-pixel downsampling of the timeline: a million samples cannot be drawn as a million line
// segments at interactive speed, and a 1000-pixel chart shows at most two values per pixel
// column anyway. Each column keeps its minimum and its maximum (in time order), so spikes and
// dips stay visible; the first and last samples are always kept so that the chart's full range
// (uPlot's double-click reset) is the series' own.

// Index of the first t[i] >= x (t sorted ascending).
export function lowerBound (t, x) {
  let lo = 0
  let hi = t.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (t[mid] < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

// columns: arrays as long as t (null for missing). Returns {t, columns, drawn} for the samples
// in [min, max] plus one neighbour on each side, at most about 2 * buckets of them.
export function downsample (t, columns, min, max, buckets) {
  const n = t.length
  if (n === 0) return { t: [], columns: columns.map(() => []) }
  let lo = Math.max(0, lowerBound(t, min) - 1)
  let hi = Math.min(n - 1, lowerBound(t, max))
  if (hi < lo) hi = lo
  const count = hi - lo + 1
  const outT = []
  const outC = columns.map(() => [])
  const push = (i) => {
    outT.push(t[i])
    for (let k = 0; k < columns.length; k++) outC[k].push(columns[k][i] ?? null)
  }
  if (lo > 0) push(0)
  if (count <= 2 * buckets) {
    for (let i = lo; i <= hi; i++) push(i)
  } else {
    // The first column (RSS) decides which index of a bucket is its min and its max; the other
    // columns are taken at the same indices so that every row is a real sample.
    const main = columns[0]
    const span = (t[hi] - t[lo]) || 1
    let i = lo
    while (i <= hi) {
      const b = Math.floor(((t[i] - t[lo]) / span) * buckets)
      let imin = -1
      let imax = -1
      let j = i
      for (; j <= hi; j++) {
        if (Math.min(buckets - 1, Math.floor(((t[j] - t[lo]) / span) * buckets)) !== Math.min(buckets - 1, b)) break
        const v = main[j]
        if (v === null || v === undefined) continue
        if (imin < 0 || v < main[imin]) imin = j
        if (imax < 0 || v > main[imax]) imax = j
      }
      if (imin < 0) { push(i) } else if (imin === imax) { push(imin) } else if (imin < imax) { push(imin); push(imax) } else { push(imax); push(imin) }
      i = j
    }
  }
  if (hi < n - 1) push(n - 1)
  return { t: outT, columns: outC }
}
