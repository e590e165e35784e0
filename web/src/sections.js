// The text sections of the report: header, notes on what is missing, the verdict with its
// evidence, the suspects table and the retention paths. Everything is built with textContent
// (el()), since names, symbols and file names are untrusted.
import { el, formatBytes, formatRate, formatDuration, formatPercent } from './format.js'

export function renderHeader (root, data) {
  root.replaceChildren(
    el('h1', { text: data.title || 'leakhunt report' }),
    el('p', { class: 'meta', text: `generated ${data.generated_at || ''} by leakhunt ${data.leakhunt_version || ''}` }),
    el('ul', { class: 'sources' }, ...(data.sources || []).map((s) => el('li', { text: `${s.kind}: ${s.path}${s.detail ? ' (' + s.detail + ')' : ''}` })))
  )
}

export function renderNotes (root, data) {
  const parts = []
  const missing = data.missing || []
  const notes = data.notes || []
  if (missing.length) parts.push(el('h2', { text: 'Not in this report' }), el('ul', null, ...missing.map((m) => el('li', { text: String(m) }))))
  if (notes.length) parts.push(el('h2', { text: 'Notes' }), el('ul', null, ...notes.map((m) => el('li', { text: String(m) }))))
  root.hidden = parts.length === 0
  root.replaceChildren(...parts)
}

export function renderVerdict (root, v) {
  const word = String(v.verdict || 'inconclusive')
  const facts = [
    ['growth', formatRate(v.growth_bytes_per_hour)],
    ['confidence', Number.isFinite(v.confidence) ? v.confidence.toFixed(2) : '–'],
    ['samples', `${v.samples ?? '–'} over ${formatDuration(v.span_s)}`]
  ]
  if (Number.isFinite(v.first_leak_at_s)) facts.push(['first judged a leak at', formatDuration(v.first_leak_at_s)])
  if (Number.isFinite(v.limit_bytes)) facts.push(['limit', formatBytes(v.limit_bytes)])
  if (Number.isFinite(v.projected_limit_at_s)) facts.push(['limit reached at', formatDuration(v.projected_limit_at_s)])
  if (v.flags && v.flags.length) facts.push(['flags', v.flags.join(', ')])
  root.replaceChildren(
    el('h2', { text: 'Verdict' }),
    el('p', { class: 'verdict-line' },
      el('span', { class: `verdict verdict-${word.replace(/[^a-z]/g, '')}`, text: word.toUpperCase() }),
      el('span', { class: 'series-name', text: ` ${v.series || ''}` })),
    el('dl', { class: 'facts' }, ...facts.flatMap(([k, val]) => [el('dt', { text: k }), el('dd', { text: val })])),
    el('h3', { text: 'Evidence' }),
    el('ul', { class: 'evidence' }, ...(v.evidence || []).map((e) => el('li', { text: String(e) })))
  )
}

export function renderSuspects (root, rows) {
  const head = ['function', 'file', 'line', 'growth', 'share of growth', 'shape', 'confidence']
  const table = el('table', { class: 'suspects' },
    el('thead', null, el('tr', null, ...head.map((h) => el('th', { text: h })))),
    el('tbody', null, ...rows.map((r) => el('tr', null,
      el('td', { class: 'fn', text: String(r.function ?? '–') }),
      el('td', { text: String(r.file ?? '') }),
      el('td', { class: 'num', text: r.line ? String(r.line) : '' }),
      el('td', { class: 'num', text: formatRate(r.growth_bytes_per_hour) }),
      el('td', { class: 'num', text: formatPercent(r.share_of_growth) }),
      el('td', { text: String(r.shape ?? '') }),
      el('td', { class: 'num', text: Number.isFinite(r.confidence) ? r.confidence.toFixed(2) : '–' })))))
  root.replaceChildren(el('h2', { text: 'Suspects: the allocation sites that grow' }), table)
}

// A heap scan's retention paths: one heading per allocation site, the growing ones first, and
// under it the lines `leakhunt paths` prints for that site, as C++ wrote them (one rule for both).
export function renderPathSites (root, sites) {
  const items = sites.map((s) => el('section', { class: 'path-site' },
    el('h3', { text: String(s.heading ?? s.site ?? '?') }),
    el('pre', { class: 'path-lines', text: (Array.isArray(s.lines) ? s.lines : []).map(String).join('\n') })))
  root.replaceChildren(el('h2', { text: 'Retention paths: why the memory is not freed' }), ...items)
}

export function renderPaths (root, paths) {
  const items = paths.map((p) => {
    const chain = el('ol', { class: 'chain' }, el('li', { class: 'root', text: String(p.root ?? '?') }),
      ...(p.hops || []).map((h) => el('li', { text: `${h.site ?? '?'}${Number.isFinite(h.offset) ? ' +' + h.offset : ''}` })))
    return el('li', null, el('span', { class: 'path-size', text: `${formatBytes(p.bytes)} in ${p.blocks ?? '?'} blocks` }), chain)
  })
  root.replaceChildren(el('h2', { text: 'Retention paths: why the memory is not freed' }), el('ul', { class: 'paths' }, ...items))
}

// Summary totals as memray and heaptrack show them, where the inputs have them; false when none.
export function renderTotals (root, t) {
  if (!t || typeof t !== 'object') return false
  const rows = []
  const add = (label, value, text) => { if (Number.isFinite(value)) rows.push([label, text(value)]) }
  const count = (v) => v.toLocaleString('en-US')
  add('peak RSS', t.peak_rss_bytes, formatBytes)
  add('RSS at the end', t.last_rss_bytes, formatBytes)
  add('peak heap in use', t.peak_heap_bytes, formatBytes)
  add('heap in use at the end', t.last_heap_bytes, formatBytes)
  add('in use in the latest snapshot', t.snapshot_inuse_bytes, formatBytes)
  add('objects in use in the latest snapshot', t.snapshot_inuse_objects, count)
  add('allocations up to the latest snapshot', t.snapshot_allocations, count)
  add('bytes allocated up to the latest snapshot', t.snapshot_alloc_bytes, formatBytes)
  if (Number.isFinite(t.leaked_bytes)) {
    rows.push([`leaked (no root reaches them in ${t.leaked_scan || 'the heap scan'})`,
      `${formatBytes(t.leaked_bytes)} in ${count(t.leaked_objects)} objects (${formatBytes(t.leaked_direct_bytes)} in ${count(t.leaked_direct_objects)} directly)`])
  }
  if (Number.isFinite(t.exit_inuse_bytes)) {
    rows.push([`still allocated at exit (${t.exit_snapshot || 'the exit snapshot'})`,
      `${formatBytes(t.exit_inuse_bytes)} in ${count(t.exit_inuse_objects)} objects${t.exit_exact ? '' : ` (estimated from samples${t.exit_sampling ? ' ' + t.exit_sampling : ''})`}`])
  }
  add('temporary allocations (freed before their thread allocated again)', t.temporary_allocations, count)
  if (typeof t.temporary_allocations_note === 'string') rows.push(['temporary allocations', t.temporary_allocations_note])
  if (!rows.length) return false
  root.replaceChildren(el('h2', { text: 'Totals' }),
    el('dl', { class: 'facts totals' }, ...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })])))
  return true
}

// The functions holding the most in the flame graph's snapshot: the rows of `leakhunt top`.
export function renderFlameTable (root, rows) {
  const head = ['function', 'bytes', 'objects', 'share']
  root.replaceChildren(el('table', { class: 'suspects top' },
    el('thead', null, el('tr', null, ...head.map((h) => el('th', { text: h })))),
    el('tbody', null, ...rows.map((r) => el('tr', { title: r.file ? `${r.file}:${r.line}` : null },
      el('td', { class: 'fn', text: String(r.function ?? '–') }),
      el('td', { class: 'num', text: formatBytes(r.bytes) }),
      el('td', { class: 'num', text: Number.isFinite(r.objects) ? r.objects.toLocaleString('en-US') : '–' }),
      el('td', { class: 'num', text: formatPercent(r.share) }))))))
}

// The biggest classes of a heap graph by retained size: the rows of `leakhunt top` on it.
export function renderHeapClasses (root, rows) {
  const head = ['class', 'objects', 'self size', 'retained']
  root.replaceChildren(el('table', { class: 'suspects top heap-classes' },
    el('thead', null, el('tr', null, ...head.map((h) => el('th', { text: h })))),
    el('tbody', null, ...rows.map((r) => el('tr', null,
      el('td', { class: 'fn', text: String(r.class ?? '–') }),
      el('td', { class: 'num', text: Number.isFinite(r.count) ? r.count.toLocaleString('en-US') : '–' }),
      el('td', { class: 'num', text: formatBytes(r.self_bytes) }),
      el('td', { class: 'num', text: formatBytes(r.retained_bytes) }))))))
}
