import cluster, { type Worker } from 'node:cluster'
import pino from 'pino'
import { loadConfig, type LoadedConfig } from '../config/load.js'
import { createLogger, type Logger } from '../log.js'
import { MemoryCounter } from '../ratelimit/counter.js'
import { countForWorker } from '../ratelimit/ipc-counter.js'
import { ClusterMetrics } from './metrics.js'
import { READY, RELOAD, SHUTDOWN } from './messages.js'

// The primary of `regguard serve` with server.workers > 1. It serves no request itself: it forks
// the workers (each runs the whole app on the shared ports), keeps the in-memory rate-limit
// counts and sums the metrics for them, hands SIGTERM/SIGINT/SIGHUP to every worker, and starts
// a worker again when one dies. docs/workers.md says what is shared and what is per worker.

/** A worker that lived less than this before dying counts as a crash loop: the next waits longer */
const QUICK_EXIT_MS = 10_000
const FIRST_BACKOFF_MS = 500
const MAX_BACKOFF_MS = 30_000
/** What the primary allows past server.shutdown_timeout_ms before it kills a worker still draining */
const KILL_GRACE_MS = 5_000

interface Slot {
  worker: Worker | null
  listening: boolean
  startedAt: number
  /** consecutive quick exits */
  quickExits: number
  restartTimer: NodeJS.Timeout | null
}

/** The delay before a worker that died is started again: none after a long life, doubling in a crash loop. */
export function restartDelay (quickExits: number): number {
  return quickExits === 0 ? 0 : Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (quickExits - 1))
}

export async function runPrimary (config: LoadedConfig): Promise<void> {
  const logger: Logger = createLogger(config.settings.log.level, pino.destination({ fd: 1, sync: true })).child({ primary: true, pid: process.pid })
  const n = config.settings.server.workers
  let current = config
  let phase: 'starting' | 'running' | 'stopping' = 'starting'
  const counter = new MemoryCounter()
  const slots: Slot[] = Array.from({ length: n }, () => ({ worker: null, listening: false, startedAt: 0, quickExits: 0, restartTimer: null }))
  const listening = (): Worker[] => slots.filter((s) => s.listening && s.worker !== null).map((s) => s.worker as Worker)
  const metrics = new ClusterMetrics(listening)

  const fatal = (message: string, code: number): void => {
    phase = 'stopping'
    logger.fatal(message)
    for (const s of slots) s.worker?.process.kill('SIGKILL')
    process.exit(code)
  }

  /** Forks a worker into the slot; resolves once it listens (rejects if it exits first). */
  const launch = (slot: Slot): Promise<void> => new Promise((resolve, reject) => {
    slot.restartTimer = null
    const worker = cluster.fork()
    slot.worker = worker
    slot.listening = false
    slot.startedAt = Date.now()
    countForWorker(worker, counter)
    worker.on('message', (message: unknown) => {
      metrics.onMessage(worker, message)
      if ((message as { type?: string } | null)?.type !== READY) return
      slot.listening = true
      logger.info({ worker: worker.id, worker_pid: worker.process.pid }, 'worker listening')
      resolve()
    })
    worker.once('exit', (code, signal) => {
      const wasListening = slot.listening
      if (slot.worker === worker) { slot.worker = null; slot.listening = false }
      if (!wasListening) reject(Object.assign(new Error(`worker ${worker.id} exited before listening (status ${code ?? signal})`), { code }))
      if (phase === 'running') restart(slot, worker, code, signal)
    })
  })

  const restart = (slot: Slot, worker: Worker, code: number | null, signal: string | null): void => {
    slot.quickExits = Date.now() - slot.startedAt < QUICK_EXIT_MS ? slot.quickExits + 1 : 0
    const delay = restartDelay(slot.quickExits)
    metrics.restarts.inc()
    logger.error({ worker: worker.id, worker_pid: worker.process.pid, code, signal, restart_in_ms: delay }, 'worker exited unexpectedly; starting another')
    slot.restartTimer = setTimeout(() => {
      // a failure to start is an exit like any other: it is handled (and backed off) there
      launch(slot).catch(() => {})
    }, delay)
  }

  const shutdown = (signal: string): void => {
    if (phase === 'stopping') return
    phase = 'stopping'
    logger.info({ signal, workers: listening().length }, 'signal received: every worker finishes its requests and stops')
    for (const s of slots) {
      if (s.restartTimer !== null) clearTimeout(s.restartTimer)
      if (s.worker === null) continue
      // a worker still starting has nothing in flight, and no handler yet: SIGTERM ends it
      if (s.listening) s.worker.send({ type: SHUTDOWN })
      else s.worker.process.kill('SIGTERM')
    }
    const killer = setTimeout(() => {
      for (const s of slots) s.worker?.process.kill('SIGKILL')
    }, current.settings.server.shutdown_timeout_ms + KILL_GRACE_MS)
    const check = (): void => {
      if (slots.some((s) => s.worker !== null)) return
      clearTimeout(killer)
      logger.info('stopped')
      process.exit(0)
    }
    cluster.on('exit', check)
    check()
  }

  const reload = (): void => {
    try {
      const next = loadConfig({ file: current.file })
      if (next.settings.server.workers !== n) logger.warn({ workers: n, configured: next.settings.server.workers }, 'server.workers is read at start-up: restart regguard to change it')
      current = next
    } catch {
      // every worker reads the same file, and logs and counts the refusal itself
    }
    for (const w of listening()) w.send({ type: RELOAD })
  }

  process.once('SIGTERM', () => { shutdown('SIGTERM') })
  process.once('SIGINT', () => { shutdown('SIGINT') })
  process.on('SIGHUP', reload)

  // the first worker alone brings the store's schema up to date and makes the address-hash key;
  // the others open a store that has both (SQLite migrations are not safe to run side by side)
  const s = config.settings
  try {
    await launch(slots[0] as Slot)
    await Promise.all(slots.slice(1).map(launch))
  } catch (err) {
    // the worker said why on stderr (a bad store, a port in use)
    if (phase === 'starting') fatal(`regguard could not start: ${(err as Error).message}`, (err as { code?: number }).code === 2 ? 2 : 1)
    return
  }
  if (phase !== 'starting') return
  phase = 'running'
  logger.info({ workers: n, proxy: `${s.server.host}:${s.server.port}`, admin: `${s.admin.host}:${s.admin.port}`, config: config.file }, 'all workers listening')
}
