import type { Serializable } from 'node:child_process'
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client'
import type { Metrics } from '../metrics.js'

// /metrics with workers: whichever worker the scrape reaches asks the primary, which collects
// every worker's registry (as JSON, over IPC) and sums them, so a scrape never shows one
// worker's share. prom-client's own clusterMetrics() asks only the global registry and fails the
// whole scrape when one worker (say, one restarting) does not answer; here a worker that does
// not answer in time is left out, and regguard_workers_reporting says how many were summed.

const ASK = 'regguard:metrics-ask'
const COLLECT = 'regguard:metrics-collect'
const PART = 'regguard:metrics-part'
const TEXT = 'regguard:metrics-text'

/** How long the primary waits for each worker's part, and a worker for the primary's answer */
const COLLECT_TIMEOUT_MS = 2000

type Json = Awaited<ReturnType<Registry['getMetricsAsJSON']>>

interface Message { type?: string, id?: number, metrics?: Json, text?: string, error?: string }

/** Gauges every worker holds the same value of (each loads the same lists): one, not their sum. */
const SAME_IN_EVERY_WORKER = new Set(['regguard_list_entries'])

export interface WorkerChannel {
  isConnected: () => boolean
  send: (message: Serializable, callback: (err: Error | null) => void) => boolean
}

/** The primary's part: its own few metrics, and the collection for a worker that asks. */
export class ClusterMetrics {
  private readonly registry = new Registry()
  readonly restarts = new Counter({ name: 'regguard_worker_restarts_total', help: 'Workers started again after one exited unexpectedly', registers: [this.registry] })
  private readonly reporting = new Gauge({ name: 'regguard_workers_reporting', help: 'Workers whose metrics this scrape sums', registers: [this.registry] })
  private readonly collecting = new Map<number, { parts: Json[], pending: number, done: () => void }>()
  private next = 0

  /** `workers`: the workers listening now */
  constructor (private readonly workers: () => WorkerChannel[]) {}

  /** Every message a worker sends passes here; answers the ones about metrics. */
  onMessage (from: WorkerChannel, message: unknown): void {
    const m = message as Message | null
    if (m?.type === PART && typeof m.id === 'number') {
      const c = this.collecting.get(m.id)
      if (c === undefined) return
      if (Array.isArray(m.metrics)) c.parts.push(m.metrics)
      if (--c.pending === 0) c.done()
    } else if (m?.type === ASK && typeof m.id === 'number') {
      const id = m.id
      this.collect().then(
        (text) => { if (from.isConnected()) from.send({ type: TEXT, id, text }, () => {}) },
        (err: Error) => { if (from.isConnected()) from.send({ type: TEXT, id, error: err.message }, () => {}) }
      )
    }
  }

  /** The sum of every worker's metrics and the primary's, in Prometheus' text format. */
  async collect (): Promise<string> {
    const id = ++this.next
    const parts: Json[] = []
    const targets = this.workers().filter((w) => w.isConnected())
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, COLLECT_TIMEOUT_MS)
      const done = (): void => { clearTimeout(timer); resolve() }
      this.collecting.set(id, { parts, pending: targets.length, done })
      if (targets.length === 0) done()
      for (const w of targets) w.send({ type: COLLECT, id }, (err) => { if (err !== null) this.onMessage(w, { type: PART, id }) })
    })
    this.collecting.delete(id)
    this.reporting.set(parts.length)
    for (const part of parts) {
      for (const metric of part) if (SAME_IN_EVERY_WORKER.has(metric.name)) metric.aggregator = 'max'
    }
    return await AggregatorRegistry.aggregate([...parts, await this.registry.getMetricsAsJSON()]).metrics()
  }
}

/**
 * A worker's part: answers the primary's collection from its own registry, and makes the
 * registry's text (what GET /metrics serves) the primary's sum of all workers instead.
 */
export function clusterWideMetrics (metrics: Metrics, channel: NodeJS.Process = process): void {
  const registry = metrics.registry
  const waiting = new Map<number, (m: Message) => void>()
  let next = 0
  channel.on('message', (message: unknown) => {
    const m = message as Message | null
    if (m?.type === COLLECT && typeof m.id === 'number') {
      const id = m.id
      registry.getMetricsAsJSON().then((json) => { channel.send?.({ type: PART, id, metrics: json }) }, () => { channel.send?.({ type: PART, id }) })
    } else if (m?.type === TEXT && typeof m.id === 'number') {
      waiting.get(m.id)?.(m)
    }
  })
  // the route reads registry.metrics(); getMetricsAsJSON() (this worker's own) stays as it is
  registry.metrics = () => new Promise<string>((resolve, reject) => {
    const id = ++next
    const timer = setTimeout(() => { waiting.delete(id); reject(new Error('the primary process did not send the metrics in time')) }, 2 * COLLECT_TIMEOUT_MS)
    waiting.set(id, (m) => {
      waiting.delete(id)
      clearTimeout(timer)
      if (typeof m.text === 'string') resolve(m.text)
      else reject(new Error(m.error ?? 'the primary process could not collect the metrics'))
    })
    channel.send?.({ type: ASK, id })
  })
}
