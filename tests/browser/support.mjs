// Shared helpers of the browser tests and the browser benchmark: paths from the environment,
// running leakhunt, launching Debian's chromium through playwright-core (installed by the build's
// `npm ci` into BUILD/web/node_modules), collecting console errors, and writing a pprof heap
// profile by hand (for hostile symbol names).
import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import { gzipSync } from 'node:zlib'
import { join, resolve } from 'node:path'

export const BIN = resolve(process.env.LEAKHUNT_BIN || 'bin')
export const MODULES = resolve(process.env.LEAKHUNT_WEB_MODULES || join('web', 'node_modules'))
export const ARTIFACTS = resolve(process.env.LEAKHUNT_ARTIFACTS || '.')
export const CHROMIUM = process.env.LEAKHUNT_CHROMIUM || '/usr/bin/chromium'

const require = createRequire(join(MODULES, 'noop.js'))
export const { chromium } = require('playwright-core')

export function leakhunt (args, options = {}) {
  return execFileSync(join(BIN, 'leakhunt'), args, { encoding: 'utf8', maxBuffer: 1 << 28, ...options })
}

export async function launch () {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
}

// A page whose console errors and uncaught exceptions are collected in page.errors.
export async function openPage (browser, url, viewport = { width: 1280, height: 900 }) {
  const page = await browser.newPage({ viewport })
  page.errors = []
  page.on('console', (msg) => { if (msg.type() === 'error') page.errors.push(msg.text()) })
  page.on('pageerror', (e) => page.errors.push(String(e)))
  await page.goto(url)
  await page.waitForFunction(() => window.leakhunt && window.leakhunt.ready, null, { timeout: 30000 })
  return page
}

export function state (page) {
  return page.evaluate(() => JSON.parse(JSON.stringify(window.leakhunt)))
}

// --- a minimal protobuf writer for pprof (profile.proto field numbers) ---
function varint (n) {
  const out = []
  let v = BigInt(n)
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v) b |= 0x80
    out.push(b)
  } while (v)
  return Buffer.from(out)
}
const field = (no, wire) => varint((no << 3) | wire)
const uintField = (no, v) => Buffer.concat([field(no, 0), varint(v)])
const bytesField = (no, buf) => Buffer.concat([field(no, 2), varint(buf.length), buf])
const packed = (no, values) => bytesField(no, Buffer.concat(values.map(varint)))

// stacks: [{frames: [leaf, ..., root] function names, bytes}]. Returns gzip pprof with Go's heap
// sample types and symbolized functions.
export function heapProfile (stacks) {
  const strings = ['']
  const index = new Map([['', 0]])
  const str = (s) => { let i = index.get(s); if (i === undefined) { i = strings.length; strings.push(s); index.set(s, i) } return i }
  const parts = []
  for (const [t, u] of [['alloc_objects', 'count'], ['alloc_space', 'bytes'], ['inuse_objects', 'count'], ['inuse_space', 'bytes']]) {
    parts.push(bytesField(1, Buffer.concat([uintField(1, str(t)), uintField(2, str(u))])))
  }
  const fnIds = new Map()
  for (const s of stacks) for (const f of s.frames) if (!fnIds.has(f)) fnIds.set(f, fnIds.size + 1)
  for (const s of stacks) {
    const locs = s.frames.map((f) => fnIds.get(f))
    parts.push(bytesField(2, Buffer.concat([packed(1, locs), packed(2, [1, s.bytes, 1, s.bytes])])))
  }
  for (const [name, id] of fnIds) {
    // location id = function id, one line each
    parts.push(bytesField(4, Buffer.concat([uintField(1, id), uintField(3, 0x1000 + id * 16), bytesField(4, Buffer.concat([uintField(1, id), uintField(2, 10 + id)]))])))
    parts.push(bytesField(5, Buffer.concat([uintField(1, id), uintField(2, str(name)), uintField(3, str(name)), uintField(4, str('hostile.c'))])))
  }
  parts.push(bytesField(11, Buffer.concat([uintField(1, str('space')), uintField(2, str('bytes'))])))
  parts.push(uintField(12, 524288))
  for (const s of strings) parts.push(bytesField(6, Buffer.from(s, 'utf8')))
  return gzipSync(Buffer.concat(parts))
}
