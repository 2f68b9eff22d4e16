import { execFileSync } from 'node:child_process'
import { request } from 'undici'
import { load, type LoadResult, type LoadSpec } from './load.js'
import { cpuMs, ownCpuMs } from './procs.js'
import { NEVER_REACHED_LIMITS, startRegguard, type Regguard } from './regguard.js'
import { fmt, table } from './table.js'

// Issue 12's "several cores": regguard with server.workers 1 and 2 under the same load, side by
// side, and what a rate-limit hit costs when a worker asks the primary over IPC
// (bench/ipc-hits.ts). bench/run.ts prints this section (target "workers").

export interface WorkerScenario { key: string, title: string, spec: (connections: number, postConnections: number) => LoadSpec }

export interface WorkersBenchOptions {
  dir: string
  upstreamUrl: string
  /** The run's scenarios; measured here: pass-through GET, denied and allowed requestToken */
  scenarios: WorkerScenario[]
  duration: number
  warmup: number
  connections: number
  postConnections: number
  nodeArgs: string[]
}

interface Variant { name: string, workers: number, rateLimits: boolean }

const VARIANTS: Variant[] = [
  { name: 'regguard-1w', workers: 1, rateLimits: false },
  { name: 'regguard-2w', workers: 2, rateLimits: false },
  // rate limits on (limits no request reaches): the denial then counts twice (IP, address),
  // in the worker itself with one worker, in the primary over IPC with two
  { name: 'regguard-1w-rl', workers: 1, rateLimits: true },
  { name: 'regguard-2w-rl', workers: 2, rateLimits: true }
]
const MEASURED = new Set(['get', 'denied', 'allowed'])

/** The denial again, each request on a new connection: what the primary's hand-over of connections costs */
function closeScenario (denied: WorkerScenario): WorkerScenario {
  return {
    key: 'denied-close',
    title: `${denied.title}, a connection each`,
    spec: (c, pc) => { const spec = denied.spec(c, pc); return { ...spec, headers: { ...spec.headers, connection: 'close' } } }
  }
}

async function startVariant (o: WorkersBenchOptions, v: Variant): Promise<Regguard> {
  const rg = await startRegguard(o.dir, o.upstreamUrl, {
    name: v.name,
    nodeArgs: o.nodeArgs,
    adjust (config) {
      (config.server as Record<string, unknown>).workers = v.workers
      ;(config.register as Record<string, unknown>).rate_limit = v.rateLimits ? NEVER_REACHED_LIMITS : { enabled: false }
    }
  })
  // the port answers once the first worker listens; measured is once every worker does
  const deadline = Date.now() + 30_000
  for (;;) {
    const text = await request(`${rg.adminUrl}/metrics`).then((r) => r.body.text(), () => '')
    const reporting = Number(/^regguard_workers_reporting (\d+)/m.exec(text)?.[1] ?? (v.workers === 1 && text !== '' ? 1 : 0))
    if (reporting >= v.workers) return rg
    if (Date.now() > deadline) throw new Error(`${v.name}: not every worker listening after 30 s`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

interface IpcRun { workers: number, concurrency: number, hits: number, hitsPerSecond: number, workerCpuUsPerHit: number, primaryCpuUsPerHit: number, localUsPerHit: number }

function ipcRun (workers: number, hits: number, concurrency: number): IpcRun {
  const out = execFileSync(process.execPath, [new URL('./ipc-hits.js', import.meta.url).pathname, String(workers), String(hits), String(concurrency)], { encoding: 'utf8', timeout: 120_000 })
  return JSON.parse(out.trim().split('\n').pop() as string) as IpcRun
}

/** The section's markdown: the HTTP rows, the 2-to-1 ratios, and the IPC cost of a hit. */
export async function workersSection (o: WorkersBenchOptions): Promise<string> {
  const running = new Map<string, Regguard>()
  for (const v of VARIANTS) running.set(v.name, await startVariant(o, v))
  const rows: Array<{ scenario: WorkerScenario, v: Variant, r: LoadResult, primaryUsPerReq: number | null }> = []
  const scenarios = o.scenarios.filter((x) => MEASURED.has(x.key))
  const denied = scenarios.find((x) => x.key === 'denied')
  if (denied !== undefined) scenarios.push(closeScenario(denied))
  for (const s of scenarios) {
    for (const v of VARIANTS) {
      if (v.rateLimits && s.key !== 'denied') continue
      const rg = running.get(v.name) as Regguard
      const pid = rg.child.proc.pid
      // load() reads the CPU after its warm-up and after the measurement: the primary's own share alongside
      const marks: Array<[number, number]> = []
      const r = await load(rg.url, s.spec(o.connections, o.postConnections), o.duration, o.warmup, () => {
        const all = cpuMs(pid)
        marks.push([all, ownCpuMs(pid)])
        return all
      })
      const [[all0, own0], [all1, own1]] = marks as [[number, number], [number, number]]
      const primaryUsPerReq = v.workers === 1 || r.cpuUsPerReq === null || all1 === all0 ? null : r.cpuUsPerReq * (own1 - own0) / (all1 - all0)
      rows.push({ scenario: s, v, r, primaryUsPerReq })
      process.stderr.write(`  ${s.title} / ${v.name}: ${fmt(r.rps)} req/s\n`)
    }
  }
  for (const rg of running.values()) await rg.child.stop()

  const httpTable = table(
    ['scenario', 'target', 'workers', 'rate limits', 'req/s', 'p50 ms', 'p99 ms', 'CPU us/req', 'of which primary', 'x 1 worker (req/s)', 'x 1 worker (CPU/req)', 'answers'],
    rows.map(({ scenario, v, r, primaryUsPerReq }) => {
      const one = rows.find((x) => x.scenario === scenario && x.v.workers === 1 && x.v.rateLimits === v.rateLimits)?.r
      const statuses = Object.entries(r.statuses).map(([c, n]) => `${c}: ${fmt(n)}`).join(', ')
      return [
        scenario.title, v.name, String(v.workers), v.rateLimits ? 'on' : 'off', fmt(r.rps), fmt(r.p50, 1), fmt(r.p99, 1), fmt(r.cpuUsPerReq), fmt(primaryUsPerReq, 1),
        v.workers === 1 || one === undefined ? '-' : fmt(r.rps / one.rps, 2),
        v.workers === 1 || one === undefined || one.cpuUsPerReq === null || r.cpuUsPerReq === null ? '-' : fmt(r.cpuUsPerReq / one.cpuUsPerReq, 2),
        statuses + (r.errors > 0 ? `, errors: ${fmt(r.errors)}` : '')
      ]
    })
  )
  const ipc = [ipcRun(1, 50_000, 1), ipcRun(1, 50_000, 32), ipcRun(2, 50_000, 32)]
  const ipcTable = table(
    ['workers', 'hits in flight per worker', 'hits/s (all workers)', 'worker CPU us/hit', 'primary CPU us/hit', 'in-process MemoryCounter us/hit'],
    ipc.map((x) => [String(x.workers), String(x.concurrency), fmt(x.hitsPerSecond), fmt(x.workerCpuUsPerHit, 1), fmt(x.primaryCpuUsPerHit, 1), fmt(x.localUsPerHit, 2)])
  )
  return [
    'server.workers: 1 and 2 workers (CPU us/req: the primary and every worker together)',
    '',
    httpTable,
    '',
    'rate-limit hit over IPC (bench/ipc-hits.ts: cluster workers asking the primary\'s MemoryCounter; primary CPU includes its idle wake-ups)',
    '',
    ipcTable
  ].join('\n')
}
