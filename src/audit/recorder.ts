import { domainOf, type Medium } from '../synapse/canonical.js'
import type { NewDecision } from '../store/store.js'
import { bounded, MAX_FIELD_CHARS } from '../log.js'

// The decision history's writer. Requests hand a decision over with record(), which only puts it
// in a bounded in-memory queue and returns: no request ever waits on the store for its history.
// The queue is written in batches (every intervalMs, or as soon as batchSize are waiting), one
// batch in flight at a time. When the store is slower than the traffic and the queue is full,
// the oldest waiting records are dropped and counted: the newest history is the useful one.
// A decision identical to one still waiting (same endpoint, address, verdict, rule, detail and
// client) only adds to that one's count: a flood of one request costs a Map lookup per request
// and one row per batch, not a row (an insert, a hash) each.
// Every text a decision carries is bounded (src/log.ts bounded()) before it is queued: much of it
// comes from the client. The queue is bounded in bytes as well as in records, and the history on
// disk in rows (audit.max_rows): after each batch the oldest rows past it are deleted, counted.

export interface DecisionInput {
  endpoint: string
  medium: Medium | 'none'
  /** Canonical; redacted when written, as the logs redact it */
  address: string | null
  /**
   * The address as this request's log line already showed it (redacted under the same log
   * settings): written as is, so a decision's address is hashed once, not twice
   */
  redacted?: string
  result: 'allow' | 'deny'
  rule: string
  detail: string
  client_ip: string
}

export interface RecorderOptions {
  write: (batch: NewDecision[]) => Promise<void>
  /** log.full_addresses, read when a decision is recorded */
  fullAddresses: () => boolean
  /** The address as the logs show it (src/log.ts redactAddress with the hash key), applied when a batch is written */
  redact: (medium: 'email' | 'msisdn', address: string, full: boolean) => string
  /**
   * Decisions dropped: 'queue_full' (the oldest waiting, to make room), 'store_error' (a batch the
   * store refused) or 'max_rows' (the oldest in the history, past audit.max_rows)
   */
  onDropped?: (reason: DropReason, n: number) => void
  onError?: (err: unknown) => void
  maxQueued?: number
  /** The queue's bound in bytes (the texts' lengths, roughly what they hold in memory) */
  maxQueuedBytes?: number
  /** audit.max_rows, read after each batch (0: no bound) */
  maxRows?: () => number
  /**
   * Deletes the oldest rows, at most `atMost`, towards at most `maxRows` left (DecisionStore.trim):
   * `(maxRows, atMost) => store.decisions.trim(maxRows, atMost)`
   */
  trim?: (maxRows: number, atMost: number) => Promise<{ rows: number, decisions: number }>
  batchSize?: number
  intervalMs?: number
  now?: () => number
}

export type DropReason = 'queue_full' | 'store_error' | 'max_rows'

interface Pending { at: number, input: DecisionInput, full: boolean, count: number, key: string, waiting: boolean, bytes: number }

/** Rows deleted by one call of the store's trim */
const TRIM_ROWS = 5000

/** What a queued record holds besides its texts (the object, its slot, its Map entry) */
const RECORD_OVERHEAD_BYTES = 200

/** The decision with every text bounded; the same object when none needed it (the usual case) */
function boundedInput (input: DecisionInput): DecisionInput {
  const { endpoint, rule, detail, client_ip: ip, address } = input
  const max = MAX_FIELD_CHARS
  if (endpoint.length <= max && rule.length <= max && detail.length <= max && ip.length <= max && (address === null || address.length <= max)) return input
  return {
    ...input,
    endpoint: bounded(endpoint),
    rule: bounded(rule),
    detail: bounded(detail),
    client_ip: bounded(ip),
    // an address too long to be one is kept cut: it still says what was asked
    address: address === null ? null : bounded(address)
  }
}

/** Field by field: a repeat of the last decision is told without building its key */
function sameDecision (a: DecisionInput, b: DecisionInput): boolean {
  return a.address === b.address && a.client_ip === b.client_ip && a.rule === b.rule && a.detail === b.detail &&
    a.result === b.result && a.endpoint === b.endpoint && a.medium === b.medium
}

/** Length-prefixed fields: an address holding any separator cannot pass for another decision */
function repeatKey (input: DecisionInput, full: boolean): string {
  const { address: a, endpoint: e, medium: m, result: r, rule: u, detail: d, client_ip: c } = input
  return `${full ? 1 : 0}${a === null ? '-' : `${a.length}:${a}`}${e.length}:${e}${m.length}:${m}${r.length}:${r}${u.length}:${u}${d.length}:${d}${c.length}:${c}`
}

export class DecisionRecorder {
  private readonly ring: Array<Pending | undefined>
  /** The waiting records by repeatKey: every one of them is in the ring */
  private readonly waiting = new Map<string, Pending>()
  /** The last record made, while it waits: a flood of one decision repeats it */
  private last: Pending | null = null
  private head = 0
  private length = 0
  private bytes = 0
  private inFlight: Promise<void> | null = null
  private soon = false
  private closed = false
  private readonly timer: NodeJS.Timeout
  readonly maxQueued: number
  readonly maxQueuedBytes: number
  readonly batchSize: number
  dropped = 0
  /** Decisions dropped, by why (shown on /ready) */
  readonly droppedBy: Record<DropReason, number> = { queue_full: 0, store_error: 0, max_rows: 0 }
  written = 0

  constructor (private readonly opts: RecorderOptions) {
    this.maxQueued = opts.maxQueued ?? 10_000
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 4 * 1024 * 1024
    this.batchSize = opts.batchSize ?? 500
    this.ring = new Array<Pending | undefined>(this.maxQueued)
    this.timer = setInterval(() => { this.kick() }, opts.intervalMs ?? 1000)
    this.timer.unref()
  }

  get queued (): number { return this.length }

  get queuedBytes (): number { return this.bytes }

  private drop (reason: DropReason, n: number): void {
    this.dropped += n
    this.droppedBy[reason] += n
    this.opts.onDropped?.(reason, n)
  }

  /** Queues one decision; never blocks, never throws. */
  record (decision: DecisionInput): void {
    if (this.closed) return
    const input = boundedInput(decision)
    const full = this.opts.fullAddresses()
    const last = this.last
    if (last !== null && last.waiting && last.full === full && sameDecision(last.input, input)) { last.count++; return }
    const key = repeatKey(input, full)
    const same = this.waiting.get(key)
    if (same !== undefined) { same.count++; this.last = same; return }
    // the key holds every text once more
    const bytes = RECORD_OVERHEAD_BYTES + 2 * key.length
    const item: Pending = { at: (this.opts.now ?? Date.now)(), input, full, count: 1, key, waiting: true, bytes }
    this.waiting.set(key, item)
    this.last = item
    // full, in records or in bytes: the oldest waiting records make room
    while (this.length > 0 && (this.length === this.maxQueued || this.bytes + bytes > this.maxQueuedBytes)) {
      const oldest = this.takeOldest()
      this.drop('queue_full', oldest.count)
    }
    this.ring[(this.head + this.length) % this.maxQueued] = item
    this.length++
    this.bytes += bytes
    if (this.length >= this.batchSize && !this.soon) {
      // after the current request's work, not inside it
      this.soon = true
      setImmediate(() => { this.soon = false; this.kick() })
    }
  }

  /** A flush unless one is running (a hung store must not pile up waiting flushes). */
  private kick (): void {
    if (this.inFlight === null && this.length > 0) void this.flush()
  }

  private forget (p: Pending): void {
    p.waiting = false
    if (this.waiting.get(p.key) === p) this.waiting.delete(p.key)
  }

  /** Out of the queue: a repeat from now on starts a record of its own */
  private takeOldest (): Pending {
    const p = this.ring[this.head] as Pending
    this.forget(p)
    this.ring[this.head] = undefined
    this.head = (this.head + 1) % this.maxQueued
    this.length--
    this.bytes -= p.bytes
    return p
  }

  private take (n: number): Pending[] {
    const out: Pending[] = []
    while (out.length < n && this.length > 0) out.push(this.takeOldest())
    return out
  }

  /** Writes what is queued now, a batch at a time; resolves when those batches are written. */
  async flush (): Promise<void> {
    while (this.inFlight !== null) await this.inFlight
    if (this.length === 0) return
    const run = async (): Promise<void> => {
      let remaining = this.length
      while (remaining > 0 && this.length > 0) {
        const batch = this.take(Math.min(this.batchSize, remaining))
        remaining -= batch.length
        try {
          await this.opts.write(batch.map((p) => toRow(p, this.opts.redact)))
          this.written += decisionsIn(batch)
        } catch (err) {
          this.drop('store_error', decisionsIn(batch))
          this.opts.onError?.(err)
          continue
        }
        await this.trim()
      }
    }
    this.inFlight = run().finally(() => { this.inFlight = null })
    await this.inFlight
  }

  /**
   * The history back within audit.max_rows, the oldest rows deleted first, TRIM_ROWS at a time
   * with the event loop let go between (a bound lowered on a big table, or the first run after an
   * upgrade, has millions to delete; SQLite deletes in the process's own thread)
   */
  private async trim (): Promise<void> {
    const maxRows = this.opts.maxRows?.() ?? 0
    if (maxRows <= 0 || this.opts.trim === undefined) return
    try {
      for (;;) {
        const { rows, decisions } = await this.opts.trim(maxRows, TRIM_ROWS)
        if (decisions > 0) this.drop('max_rows', decisions)
        if (rows < TRIM_ROWS) return
        await new Promise((resolve) => setImmediate(resolve))
      }
    } catch (err) {
      this.opts.onError?.(err)
    }
  }

  /** Stops the timer and writes everything still queued. */
  async close (): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    await this.flush()
  }
}

function decisionsIn (batch: Pending[]): number {
  let n = 0
  for (const p of batch) n += p.count
  return n
}

function toRow (p: Pending, redact: RecorderOptions['redact']): NewDecision {
  const { input } = p
  const medium = input.medium
  // a redacted address keeps the domain whole, which the client chose: bounded again
  const address = input.address === null || medium === 'none' ? null : bounded(input.redacted ?? redact(medium, input.address, p.full))
  return {
    at: p.at,
    endpoint: input.endpoint,
    medium,
    result: input.result,
    rule: input.rule,
    detail: input.detail,
    client_ip: input.client_ip,
    address,
    domain: input.address !== null && medium === 'email' ? bounded(domainOf(input.address)) : null,
    count: p.count
  }
}
