// Number and time formatting shared by the sections: bytes in binary units (as the CLI prints
// them), rates per hour, durations, and percentages.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

export function formatBytes (v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  const neg = v < 0
  let x = Math.abs(v)
  let u = 0
  while (x >= 1024 && u < UNITS.length - 1) { x /= 1024; u++ }
  const digits = u === 0 ? 0 : (x < 10 ? 2 : (x < 100 ? 1 : 0))
  return (neg ? '-' : '') + x.toFixed(digits) + ' ' + UNITS[u]
}

// An axis tick of bytes, in the binary unit of the tick step: with a step of 500 KiB the ticks
// read 1000 KiB, 1500 KiB, never 1.46 MiB.
export function roundBytes (v, step) {
  if (v === null || v === undefined || !Number.isFinite(v)) return ''
  let u = 0
  let unit = 1
  while (u < UNITS.length - 1 && Math.abs(step) >= unit * 1024) { unit *= 1024; u++ }
  const x = v / unit
  return `${Number.isInteger(Math.round(x * 1000) / 1000) ? Math.round(x) : x.toFixed(1)} ${UNITS[u]}`
}

export function formatRate (bytesPerHour) {
  if (bytesPerHour === null || bytesPerHour === undefined || !Number.isFinite(bytesPerHour)) return '–'
  return (bytesPerHour >= 0 ? '+' : '') + formatBytes(bytesPerHour) + '/h'
}

export function formatDuration (s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–'
  const neg = s < 0
  s = Math.abs(s)
  let out
  if (s < 60) out = s.toFixed(s < 10 ? 1 : 0) + 's'
  else if (s < 3600) out = Math.floor(s / 60) + 'm' + String(Math.floor(s % 60)).padStart(2, '0') + 's'
  else if (s < 86400) out = Math.floor(s / 3600) + 'h' + String(Math.floor((s % 3600) / 60)).padStart(2, '0') + 'm'
  else out = Math.floor(s / 86400) + 'd' + String(Math.floor((s % 86400) / 3600)).padStart(2, '0') + 'h'
  return (neg ? '-' : '') + out
}

// A time-axis tick at `v` seconds for ticks `step` seconds apart: as many decimals as the step
// has (0.2 s steps read 1.2s, 1.4s; never 1s, 1s), since the start (2m05.5s) or, with `utc`, as
// the UTC time of day (14:03:07.5), the date alone for steps of a day or more.
export function formatTimeTick (v, step, utc) {
  if (v === null || v === undefined || !Number.isFinite(v)) return ''
  const decimals = step >= 1 ? 0 : Math.min(3, Math.max(1, -Math.floor(Math.log10(step) + 1e-9)))
  if (utc) {
    const iso = new Date(Math.round(v * 1000)).toISOString()
    if (step >= 86400) return iso.slice(0, 10)
    if (step >= 60) return iso.slice(11, 16)
    return iso.slice(11, 19) + (decimals ? '.' + iso.slice(20, 20 + decimals) : '')
  }
  const neg = v < 0
  const a = Math.abs(Math.round(v * 1000) / 1000)
  let out
  if (a < 60) out = a.toFixed(decimals) + 's'
  else if (a < 3600) out = Math.floor(a / 60) + 'm' + (a % 60).toFixed(decimals).padStart(decimals ? 3 + decimals : 2, '0') + 's'
  else return formatDuration(v)
  return (neg ? '-' : '') + out
}

export function formatPercent (fraction) {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '–'
  return (100 * fraction).toFixed(1) + '%'
}

// A DOM element with text content only: every piece of data goes through textContent, never
// innerHTML, because process names, symbols and file names are untrusted.
export function el (tag, attrs, ...children) {
  const e = document.createElement(tag)
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue
      if (k === 'class') e.className = v
      else if (k === 'text') e.textContent = v
      else e.setAttribute(k, v)
    }
  }
  for (const c of children) {
    if (c === null || c === undefined) continue
    e.append(typeof c === 'string' ? document.createTextNode(c) : c)
  }
  return e
}
