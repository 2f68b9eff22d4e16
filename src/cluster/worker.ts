import cluster from 'node:cluster'
import pino from 'pino'
import type { LoadedConfig } from '../config/load.js'
import { createLogger } from '../log.js'
import { Metrics } from '../metrics.js'
import { IpcCounter } from '../ratelimit/ipc-counter.js'
import type { Running, startOrExit, stopAndExit } from '../server.js'
import { clusterWideMetrics } from './metrics.js'
import { READY, RELOAD, SHUTDOWN } from './messages.js'

// One worker of `regguard serve` with server.workers > 1: the whole app (proxy and admin
// listeners, on the ports every worker shares), with what must be one for all of them asked of
// the primary: the in-memory rate-limit counts and the metrics' sum.

/** server.ts's own start and stop, handed in by its serve(): this file imports nothing of it (no cycle) */
export interface Serving { startOrExit: typeof startOrExit, stopAndExit: typeof stopAndExit }

export async function serveWorker (config: LoadedConfig, { startOrExit, stopAndExit }: Serving): Promise<void> {
  // one write(2) per line: lines of several processes on one stdout pipe never interleave
  // (each is far below PIPE_BUF), which pino's buffered writes could not promise
  const logger = createLogger(config.settings.log.level, pino.destination({ fd: 1, sync: true })).child({ worker: cluster.worker?.id, pid: process.pid })
  let running: Running | null = null
  const rl = config.settings.register.rate_limit
  // Redis and the shared store are one for every worker already; the in-memory counts are the primary's
  const counter = rl.redis_url === '' && !rl.shared
    ? new IpcCounter(process, () => (running?.app.context.runtime().config ?? config).settings.register.rate_limit.timeout_ms)
    : undefined
  const metrics = new Metrics()
  clusterWideMetrics(metrics)
  running = await startOrExit(config, logger, { counter, metrics })
  const r = running
  let stopping = false
  const stop = (why: string): void => {
    if (stopping) return
    stopping = true
    stopAndExit(r, logger, why)
  }
  process.on('message', (message: unknown) => {
    const type = (message as { type?: string } | null)?.type
    if (type === SHUTDOWN) stop('shutdown (from the primary)')
    else if (type === RELOAD) r.reload()
  })
  // SIGTERM to one worker recycles it (drained; the primary starts another). SIGINT reaches the
  // whole process group from a terminal: the primary alone decides, and tells every worker.
  process.once('SIGTERM', () => { stop('SIGTERM') })
  process.on('SIGINT', () => {})
  process.on('SIGHUP', () => { r.reload() })
  process.send?.({ type: READY, proxy: r.proxyAddress, admin: r.adminAddress })
}
