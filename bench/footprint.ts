import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createConnection } from 'node:net'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import { cpuMs, firstJsonLine, freePort, startChild, stopAll, type Child } from './procs.js'
import { CLI } from './regguard.js'
import { fmt, table } from './table.js'

// Issue 12's footprint targets: regguard started as operators start it (the real CLI, the
// example configuration config/regguard.example.yaml as generated from the schema's defaults:
// SQLite store under ./data, log level info), next to a bare node:http server on the same
// machine. Run alone: node dist/bench/footprint.js [--runs N]; npm run bench prints the targets.
//
// Per run, in a fresh process:
// - start: from spawn to the proxy port accepting a TCP connection (polled every 2 ms), and to
//   the "regguard listening" log line (written once both listeners are up); CPU is the
//   process's user + system time at that moment, which depends less on the machine's load;
// - idle RSS: VmRSS from /proc/PID/status once settled: at least 2 s after listening (start-up
//   work in the background, such as the invite index's first read and V8's concurrent sweeping,
//   has run by then), then sampled every 250 ms until 2 s of samples lie within 0.25 MB
//   (at most 20 s); no request has been made;
// - then a few requests of every kind the default config serves (pass-through GET, email and
//   phone-number requestToken, /register), and the RSS settled again the same way: what the
//   lazily loaded parts add once used. The first phone-number requestToken's latency is
//   reported next to the second's (what loading the phone-number metadata on demand costs).
// The first run starts on an empty data directory (the SQLite file is created and migrated);
// the others restart on it, as an operator's restarts do. Medians over the restarts.

const EXAMPLE = fileURLToPath(new URL('../../config/regguard.example.yaml', import.meta.url))
const UPSTREAM = fileURLToPath(new URL('./upstream.js', import.meta.url))

export const RSS_GOAL_MB = 110
export const START_GOAL_MS = 1000

export interface Status { rssMb: number, anonMb: number, fileMb: number }

export function status (pid: number): Status {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN) / 1024
  return { rssMb: kb('VmRSS'), anonMb: kb('RssAnon'), fileMb: kb('RssFile') }
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

export async function settled (pid: number): Promise<Status> {
  await sleep(2000)
  const samples: Status[] = []
  const deadline = Date.now() + 20_000
  for (;;) {
    samples.push(status(pid))
    const last = samples.slice(-8)
    const rss = last.map((s) => s.rssMb)
    if ((last.length === 8 && Math.max(...rss) - Math.min(...rss) < 0.25) || Date.now() > deadline) return samples.at(-1) as Status
    await sleep(250)
  }
}

async function accepts (port: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

async function untilAccepting (port: number, child: Child, t0: number): Promise<number> {
  while (performance.now() - t0 < 30_000) {
    if (child.proc.exitCode !== null) throw new Error(`process exited with ${child.proc.exitCode}: ${child.stderr()}`)
    if (await accepts(port)) return performance.now() - t0
    await sleep(2)
  }
  throw new Error(`nothing listening on port ${port} after 30 s: ${child.stderr()}`)
}

/** Resolves with the time (since t0) of the first stdout line containing the text. */
function lineSeen (child: Child, text: string, t0: number): Promise<number> {
  return new Promise((resolve) => {
    let buf: string | null = ''
    // read to the end: a full pipe would block the child's (synchronous) log writes
    child.proc.stdout?.on('data', (c: Buffer) => {
      if (buf === null) return
      buf = (buf + c.toString()).slice(-4096)
      if (buf.includes(text)) { buf = null; resolve(performance.now() - t0) }
    })
  })
}

export interface StartSample {
  portMs: number
  /** the "regguard listening" line; NaN for the reference */
  logMs: number
  cpuMs: number
  idle: Status
  /** after the warm-up requests; undefined for the reference */
  used?: Status
  firstMsisdnMs?: number
  secondMsisdnMs?: number
}

function exampleConfig (port: number, adminPort: number, upstream: string): string {
  const config = YAML.parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, Record<string, unknown>>
  // only where it listens and what it forwards to; every policy, store and log key as shipped
  config.server = { ...config.server, port }
  config.admin = { ...config.admin, port: adminPort }
  config.homeserver = { ...config.homeserver, url: upstream }
  return YAML.stringify(config)
}

const TOKEN = '/_matrix/client/v3/register/{medium}/requestToken'

async function post (base: string, path: string, body: unknown): Promise<{ status: number, ms: number }> {
  const t0 = performance.now()
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  await res.arrayBuffer()
  return { status: res.status, ms: performance.now() - t0 }
}

/** A few requests of each kind, sequential; fails when one is answered 5xx (a lazy load broke). */
async function warmUp (base: string, run: number): Promise<{ first: number, second: number }> {
  const checked = (what: string, r: { status: number, ms: number }): number => {
    if (r.status >= 500) throw new Error(`${what} answered ${r.status}`)
    return r.ms
  }
  const msisdn = async (i: number): Promise<number> => checked('msisdn requestToken', await post(base, TOKEN.replace('{medium}', 'msisdn'), { client_secret: 'footprint', country: 'GB', phone_number: `07700 900${String(100 + run * 10 + i)}`, send_attempt: 1 }))
  // the phone-number request first: nothing else has loaded what it needs before it
  const first = await msisdn(0)
  const second = await msisdn(1)
  for (let i = 0; i < 6; i++) {
    checked('GET /versions', await (async () => { const t0 = performance.now(); const r = await fetch(base + '/_matrix/client/versions'); await r.arrayBuffer(); return { status: r.status, ms: performance.now() - t0 } })())
    checked('email requestToken', await post(base, TOKEN.replace('{medium}', 'email'), { client_secret: 'footprint', email: `someone${i}@example.com`, send_attempt: 1 }))
    checked('/register', await post(base, '/_matrix/client/v3/register', { username: `someone${i}`, password: 'footprint-password' }))
  }
  for (let i = 2; i < 6; i++) await msisdn(i)
  return { first, second }
}

async function startRegguardOnce (home: string, upstream: string, run: number): Promise<StartSample> {
  const port = await freePort()
  const adminPort = await freePort()
  const file = join(home, 'regguard.yaml')
  writeFileSync(file, exampleConfig(port, adminPort, upstream))
  const t0 = performance.now()
  const child = startChild(process.execPath, [CLI, '--config', file], {
    cwd: home,
    // the environment could override keys of the file (REGGUARD_*) or add node flags (NODE_OPTIONS):
    // measured is the file alone, no flags
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGGUARD_') && k !== 'NODE_OPTIONS'))
  })
  try {
    const logged = lineSeen(child, '"regguard listening"', t0)
    const portMs = await untilAccepting(port, child, t0)
    const cpu = cpuMs(child.proc.pid)
    const logMs = await logged
    const idle = await settled(child.proc.pid as number)
    const { first, second } = await warmUp(`http://127.0.0.1:${port}`, run)
    const used = await settled(child.proc.pid as number)
    return { portMs, logMs, cpuMs: cpu, idle, used, firstMsisdnMs: first, secondMsisdnMs: second }
  } finally {
    await child.stop()
  }
}

async function startReferenceOnce (): Promise<StartSample> {
  const port = await freePort()
  const t0 = performance.now()
  const child = startChild(process.execPath, ['-e', `require('http').createServer().listen(${port}, '127.0.0.1')`])
  try {
    const portMs = await untilAccepting(port, child, t0)
    const cpu = cpuMs(child.proc.pid)
    return { portMs, logMs: NaN, cpuMs: cpu, idle: await settled(child.proc.pid as number) }
  } finally {
    await child.stop()
  }
}

export interface Footprint {
  runs: number
  first: StartSample
  regguard: StartSample[]
  reference: StartSample[]
}

export async function measureFootprint (runs = 5): Promise<Footprint> {
  const dir = mkdtempSync(join(tmpdir(), 'regguard-footprint-'))
  const upstream = startChild(process.execPath, [UPSTREAM])
  try {
    const { port } = await firstJsonLine<{ port: number }>(upstream)
    const url = `http://127.0.0.1:${port}`
    const first = await startRegguardOnce(dir, url, 0)
    const regguard: StartSample[] = []
    const reference: StartSample[] = []
    // interleaved, so a busy minute on the machine weighs on both
    for (let i = 1; i <= runs; i++) {
      reference.push(await startReferenceOnce())
      regguard.push(await startRegguardOnce(dir, url, i))
    }
    return { runs, first, regguard, reference }
  } finally {
    await upstream.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

export function median (xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}

const med = (xs: StartSample[], f: (s: StartSample) => number | undefined): number => median(xs.map((s) => f(s) ?? NaN))

export function footprintTable (fp: Footprint): string {
  const row = (name: string, xs: StartSample[]): string[] => [
    name,
    fmt(med(xs, (s) => s.portMs)), fmt(med(xs, (s) => s.logMs)), fmt(med(xs, (s) => s.cpuMs)),
    fmt(med(xs, (s) => s.idle.rssMb), 1), fmt(med(xs, (s) => s.idle.anonMb), 1), fmt(med(xs, (s) => s.idle.fileMb), 1),
    fmt(med(xs, (s) => s.used?.rssMb), 1), fmt(med(xs, (s) => s.firstMsisdnMs), 1), fmt(med(xs, (s) => s.secondMsisdnMs), 1)
  ]
  return table(
    ['process', 'to port ms', 'to log line ms', 'CPU ms', 'idle RSS MB', 'anon MB', 'file MB', 'RSS after requests MB', '1st msisdn ms', '2nd msisdn ms'],
    [row('bare node:http', fp.reference), row('regguard, example config', fp.regguard), row('regguard, first start (empty data dir)', [fp.first])]
  ) + `\n(median of ${fp.runs} restarts each, interleaved; the first start is one run, on an empty data directory. RSS settled: 2 s after listening, then until 2 s of samples lie within 0.25 MB.\n` +
    ' anon / file: RssAnon / RssFile, the heap and the mapped node binary and libraries; "after requests": settled again after a few requests of each kind)'
}

/** The two rows of issue 12's target table (bench/run.ts), columns as there. */
export function footprintTargets (fp: Footprint): string[][] {
  const rss = med(fp.regguard, (s) => s.idle.rssMb)
  const refRss = med(fp.reference, (s) => s.idle.rssMb)
  const start = med(fp.regguard, (s) => s.portMs)
  const refStart = med(fp.reference, (s) => s.portMs)
  return [
    [`idle RSS, default config <= ${RSS_GOAL_MB} MB`, `regguard ${fmt(rss, 1)} MB`, `bare node:http ${fmt(refRss, 1)} MB`, fmt(rss / refRss, 2), `<= ${RSS_GOAL_MB} MB`, rss <= RSS_GOAL_MB ? 'yes' : 'no'],
    [`start to listening <= ${START_GOAL_MS / 1000} s`, `regguard ${fmt(start)} ms`, `bare node:http ${fmt(refStart)} ms`, fmt(start / refStart, 2), `<= ${START_GOAL_MS} ms`, start <= START_GOAL_MS ? 'yes' : 'no']
  ]
}

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, json: { type: 'boolean' } } })
  const fp = await measureFootprint(Number(values.runs ?? 5))
  if (values.json === true) { process.stdout.write(JSON.stringify(fp, null, 1) + '\n'); return }
  process.stdout.write(footprintTable(fp) + '\n\n')
  process.stdout.write(table(['target', 'measured', 'against', 'ratio', 'goal', 'met'], footprintTargets(fp)) + '\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch(async (err) => {
    await stopAll()
    process.stderr.write(`footprint: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
}
