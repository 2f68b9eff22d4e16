import cluster from 'node:cluster'
import { MemoryCounter } from '../src/ratelimit/counter.js'
import { countForWorker, IpcCounter } from '../src/ratelimit/ipc-counter.js'

// What one rate-limit hit costs when a cluster worker asks the primary (src/ratelimit/
// ipc-counter.ts), against the same hit in the worker's own MemoryCounter. Run as
// `node dist/bench/ipc-hits.js WORKERS HITS CONCURRENCY`: prints one JSON line.

interface WorkerReport { hits: number, ms: number, cpuUs: number, localUsPerHit: number }

const [workers, hits, concurrency] = process.argv.slice(2).map(Number) as [number, number, number]

async function inWorker (): Promise<void> {
  const counter = new IpcCounter(process, () => 10_000)
  const run = async (c: { hit: IpcCounter['hit'] }, n: number): Promise<void> => {
    let next = 0
    // distinct keys per worker and window, as client IPs and addresses are
    const lane = async (): Promise<void> => { while (next < n) await c.hit(`ip:10.0.${cluster.worker?.id}.${next++ % 250}`, 60_000, Date.now()) }
    await Promise.all(Array.from({ length: concurrency }, lane))
  }
  await run(counter, 2000) // warm-up
  const local = new MemoryCounter()
  const l0 = process.hrtime.bigint()
  await run(local, hits)
  const localUsPerHit = Number(process.hrtime.bigint() - l0) / 1000 / hits
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  await run(counter, hits)
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  const cpu = process.cpuUsage(cpu0)
  const report: WorkerReport = { hits, ms, cpuUs: cpu.user + cpu.system, localUsPerHit }
  process.send?.(report, () => { process.exit(0) })
}

async function inPrimary (): Promise<void> {
  const counter = new MemoryCounter()
  const reports: WorkerReport[] = []
  let cpu0: NodeJS.CpuUsage | null = null
  for (let i = 0; i < workers; i++) {
    const w = cluster.fork()
    countForWorker(w, counter)
    w.on('message', (m: unknown) => { if (typeof (m as WorkerReport).ms === 'number') reports.push(m as WorkerReport) })
  }
  // the primary's CPU from the first worker's start to the last report: its IPC work, mostly
  await new Promise<void>((resolve) => { cluster.once('online', () => { cpu0 = process.cpuUsage(); resolve() }) })
  await new Promise<void>((resolve) => { cluster.on('exit', () => { if (Object.keys(cluster.workers ?? {}).length === 0) resolve() }) })
  const primary = process.cpuUsage(cpu0 ?? undefined)
  const total = reports.reduce((n, r) => n + r.hits, 0)
  process.stdout.write(JSON.stringify({
    workers,
    concurrency,
    hits: total,
    hitsPerSecond: total / (Math.max(...reports.map((r) => r.ms)) / 1000),
    workerCpuUsPerHit: reports.reduce((n, r) => n + r.cpuUs, 0) / total,
    // includes the warm-up hits (2000 a worker) and the local runs' nothing: an upper bound
    primaryCpuUsPerHit: (primary.user + primary.system) / (total + 2000 * workers),
    localUsPerHit: reports.reduce((n, r) => n + r.localUsPerHit, 0) / reports.length
  }) + '\n')
}

if (cluster.isPrimary) await inPrimary()
else await inWorker()
