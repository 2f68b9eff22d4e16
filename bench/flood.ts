import { readFileSync } from 'node:fs'
import { combine, load, roundRatios, type LoadResult, type LoadSpec } from './load.js'
import { settled, status } from './footprint.js'
import { cpuMs } from './procs.js'
import { startRegguard, type Regguard } from './regguard.js'
import { fmt, table } from './table.js'

// Memory under load: regguard (the bench's configuration) flooded with denied requestTokens for
// FLOOD_S seconds, a unique address each, its RSS read before (settled), during (sampled, and the
// kernel's high-water mark VmHWM) and some time after. Once with V8's default young generation
// and once per --max-semi-space-size value in NODE_OPTIONS (the one memory setting an operator
// has without code), then the same processes' denial throughput in alternated rounds: what a
// smaller young generation costs.

export const FLOOD_S = 12
/** MB; '' is V8's default sizing */
export const SEMI_SPACES = ['', '32', '16', '8']

export interface FloodOptions {
  dir: string
  upstreamUrl: string
  /** the denied requestToken, its address unique per request */
  spec: LoadSpec
  /** seconds after its flood at which each process's RSS is read again */
  after: number
  rounds?: number
  roundS?: number
}

interface Flooded {
  semi: string
  rg: Regguard
  before: number
  peak: number
  hwm: number
  afterRss?: number
  afterAnon?: number
  flood?: LoadResult
  endedAt: number
  rounds: LoadResult[]
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

function hwmMb (pid: number): number {
  return Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024
}

const label = (semi: string): string => semi === '' ? 'V8 default' : `--max-semi-space-size=${semi}`

export async function floodSection (o: FloodOptions): Promise<string> {
  const procs: Flooded[] = []
  for (const semi of SEMI_SPACES) {
    const rg = await startRegguard(o.dir, o.upstreamUrl, { name: `flood${semi === '' ? '-default' : '-' + semi}`, env: semi === '' ? {} : { NODE_OPTIONS: `--max-semi-space-size=${semi}` } })
    procs.push({ semi, rg, before: NaN, peak: NaN, hwm: NaN, endedAt: 0, rounds: [] })
  }
  for (const p of procs) p.before = (await settled(p.rg.child.proc.pid as number)).rssMb
  for (const p of procs) {
    const pid = p.rg.child.proc.pid as number
    let peak = status(pid).rssMb
    const sampler = setInterval(() => { peak = Math.max(peak, status(pid).rssMb) }, 200)
    try {
      p.flood = await load(p.rg.url, o.spec, FLOOD_S, 0, () => cpuMs(pid))
    } finally {
      clearInterval(sampler)
    }
    p.endedAt = Date.now()
    p.peak = Math.max(peak, status(pid).rssMb)
    p.hwm = hwmMb(pid)
    process.stderr.write(`  flood / ${label(p.semi)}: ${fmt(p.flood.rps)} req/s, RSS ${fmt(p.before, 1)} -> ${fmt(p.peak, 1)} MB\n`)
  }
  // each read `after` seconds after its own flood; the floods of the others meanwhile do not touch it
  for (const p of procs) {
    await sleep(Math.max(0, p.endedAt + o.after * 1000 - Date.now()))
    const s = status(p.rg.child.proc.pid as number)
    p.afterRss = s.rssMb
    p.afterAnon = s.anonMb
  }
  const rounds = o.rounds ?? 4
  for (let round = 0; round < rounds; round++) {
    for (const p of round % 2 === 0 ? procs : [...procs].reverse()) {
      const r = await load(p.rg.url, o.spec, o.roundS ?? 3, round === 0 ? 1 : 0, () => cpuMs(p.rg.child.proc.pid))
      p.rounds.push(r)
    }
  }
  for (const p of procs) await p.rg.child.stop()
  const base = procs[0] as Flooded
  const rows = procs.map((p) => {
    const all = combine(p.rounds)
    const ratio = p === base ? '-' : fmt(roundRatios(p.rounds, base.rounds).median, 2)
    const cpuRatio = p === base ? '-' : fmt((all.cpuUsPerReq ?? NaN) / (combine(base.rounds).cpuUsPerReq ?? NaN), 2)
    return [
      label(p.semi), fmt(p.before, 1), fmt(p.peak, 1), fmt(p.hwm, 1), fmt(p.afterRss, 1), fmt(p.afterAnon, 1),
      fmt(p.flood?.rps), fmt(p.flood?.cpuUsPerReq), fmt(all.rps), fmt(all.cpuUsPerReq), ratio, cpuRatio,
      Object.entries(p.flood?.statuses ?? {}).map(([c, n]) => `${c}: ${fmt(n)}`).join(', ')
    ]
  })
  return [
    `memory under a ${FLOOD_S} s denial flood, a unique address per request (wrk -t1, ${o.spec.connections} connections), RSS ${o.after} s after it; then the same processes' denial throughput in ${rounds} alternated rounds of ${o.roundS ?? 3} s`,
    '',
    table(['NODE_OPTIONS', 'RSS before MB', 'RSS peak MB (sampled)', 'VmHWM MB', `RSS ${o.after} s after MB`, 'anon after MB', 'flood req/s', 'flood CPU us/req', 'rounds req/s', 'rounds CPU us/req', 'x default (req/s)', 'x default (CPU/req)', 'flood answers'], rows),
    '(before: settled idle after start; peak sampled every 200 ms, VmHWM the kernel\'s high-water mark; x default: median over rounds of req/s over the default\'s, and CPU per request over the default\'s)'
  ].join('\n')
}
