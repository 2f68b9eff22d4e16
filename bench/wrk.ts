import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// wrk (the Debian package, .ci/install-wrk.sh) as the load generator: one C thread, a Lua
// script written per run. A body with COUNTER in it gets a unique token there per request
// (request() builds it, so the address differs every time); any other request is formatted once.
// response() counts the answers by status; done() prints one JSON line with wrk's summary and
// its own CPU time (os.clock), so a report can show the generator was not the bottleneck.

export const COUNTER = '{{COUNTER}}'

export interface WrkSpec {
  method: 'GET' | 'POST'
  path: string
  body?: Buffer | string
  headers?: Record<string, string>
  connections: number
}

export interface WrkResult {
  requests: number
  durationUs: number
  p50Us: number
  p99Us: number
  statuses: Record<string, number>
  errors: { connect: number, read: number, write: number, timeout: number }
  /** wrk's own CPU time over the run (all its threads), microseconds */
  clientCpuUs: number
}

const scripts = mkdtempSync(join(tmpdir(), 'regguard-wrk-'))
let scriptSeq = 0
let runSeq = 0

/** A Lua long-bracket literal holding s (only for the short texts written here: headers, path). */
function lua (s: string): string {
  let eq = ''
  while (s.includes(']' + eq + ']')) eq += '='
  return `[${eq}[${s}]${eq}]`
}

function writeBody (name: string, bytes: Buffer | string): string {
  const file = join(scripts, name)
  writeFileSync(file, bytes)
  return file
}

export function luaScript (spec: WrkSpec): string {
  const n = scriptSeq++
  const headers = Object.entries(spec.headers ?? {}).map(([k, v]) => `[ ${lua(k)} ] = ${lua(v)}`).join(', ')
  const body = spec.body === undefined ? null : Buffer.isBuffer(spec.body) ? spec.body : Buffer.from(spec.body)
  const marker = Buffer.from(COUNTER)
  const at = body === null ? -1 : body.indexOf(marker)
  const read = (file: string): string => `(function () local f = assert(io.open(${lua(file)}, "rb")); local s = f:read("*a"); f:close(); return s end)()`
  const lines = [
    `wrk.method = ${lua(spec.method)}`,
    `wrk.path = ${lua(spec.path)}`,
    `wrk.headers = { ${headers} }`,
    "-- global: done() reads it from the thread with thread:get",
    'statuses = {}',
    'function response (status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end',
    'local threads = {}',
    'function setup (thread) table.insert(threads, thread) end'
  ]
  if (body !== null && at < 0) {
    lines.push(`wrk.body = ${read(writeBody(`body-${n}`, body))}`)
  } else if (body !== null) {
    // fixed width: every request's body has the same length
    lines.push(
      `local pre = ${read(writeBody(`pre-${n}`, body.subarray(0, at)))}`,
      `local post = ${read(writeBody(`post-${n}`, body.subarray(at + marker.length)))}`,
      'local prefix = "x"',
      'local counter = 0',
      'function init (args) if args[1] ~= nil then prefix = args[1] end end',
      'function request ()',
      '  counter = counter + 1',
      '  return wrk.format(nil, nil, nil, pre .. prefix .. string.format("%09d", counter) .. post)',
      'end'
    )
  }
  lines.push(
    'function done (summary, latency, requests)',
    '  local byStatus = {}',
    '  for _, t in ipairs(threads) do',
    '    for code, count in pairs(t:get("statuses")) do byStatus[#byStatus + 1] = string.format("\\"%d\\":%d", code, count) end',
    '  end',
    '  local e = summary.errors',
    '  io.write(string.format("{\\"requests\\":%d,\\"durationUs\\":%d,\\"p50Us\\":%d,\\"p99Us\\":%d,\\"statuses\\":{%s},\\"errors\\":{\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,\\"timeout\\":%d},\\"clientCpuUs\\":%d}\\n",',
    '    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), table.concat(byStatus, ","), e.connect, e.read, e.write, e.timeout, math.floor(os.clock() * 1e6)))',
    'end'
  )
  const file = join(scripts, `load-${n}.lua`)
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}

/**
 * One wrk run of whole seconds against base + spec.path. Unique bodies get a prefix of their
 * own per run (the counter restarts with every wrk process).
 */
export async function wrk (base: string, spec: WrkSpec, seconds: number, script = luaScript(spec)): Promise<WrkResult> {
  const prefix = `${process.pid.toString(36)}r${(runSeq++).toString(36)}n`
  const args = ['-t1', `-c${spec.connections}`, `-d${Math.max(1, Math.round(seconds))}s`, '--timeout', '30s', '-s', script, base + spec.path, '--', prefix]
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => { if (out.length < 100_000) out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { if (err.length < 20_000) err += c.toString() })
  const [code] = await once(child, 'close') as [number | null]
  const line = out.split('\n').find((l) => l.startsWith('{"requests"'))
  if (code !== 0 || line === undefined) throw new Error(`wrk ${args.join(' ')} exited with ${String(code)}: ${err || out}`)
  return JSON.parse(line) as WrkResult
}

/** "wrk 4.1.0 ..." as the binary reports it (wrk --version exits 1 after printing its usage) */
export function wrkVersion (): string {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' })
  if (r.error !== undefined) throw new Error(`wrk not found (bash .ci/install-wrk.sh): ${r.error.message}`)
  return (/^wrk [^[\n]+/.exec(r.stdout + r.stderr)?.[0] ?? 'wrk, version unknown').trim()
}
