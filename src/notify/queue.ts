// One channel's notices waiting to be sent: bounded in memory, sent one at a time, retried with
// backoff, never awaited by a request. What happens to each notice is reported to `onResult`
// (metrics), and the channel's state is kept for /ready.

export type SendResult = 'sent' | 'retried' | 'failed' | 'dropped'

export interface QueueOptions {
  /** Read at each push and retry, so a reload applies at once */
  maxQueued: () => number
  attempts: () => number
  onResult: (result: SendResult, err?: unknown) => void
  /** First retry after this long, doubling each time up to maxBackoffMs */
  baseBackoffMs?: number
  maxBackoffMs?: number
}

export interface QueueStatus {
  queued: number
  sent: number
  failed: number
  dropped: number
  /** The last attempt failed (and nothing was sent since) */
  failing: boolean
  last_error?: string
  last_error_at?: number
}

interface Job { send: () => Promise<void>, attempt: number, due: number }

const MAX_ERROR_TEXT = 200

export class SendQueue {
  private readonly jobs: Job[] = []
  private running = false
  private timer: NodeJS.Timeout | null = null
  private closed = false
  private readonly stats: QueueStatus = { queued: 0, sent: 0, failed: 0, dropped: 0, failing: false }

  constructor (private readonly opts: QueueOptions) {}

  /** Queues one notice; false (counted as dropped) when the queue is full or closed. */
  push (send: () => Promise<void>): boolean {
    if (this.closed || this.jobs.length >= this.opts.maxQueued()) {
      this.stats.dropped++
      this.opts.onResult('dropped')
      return false
    }
    this.jobs.push({ send, attempt: 0, due: Date.now() })
    // ahead of retries waiting for their backoff (stable: first come, first sent)
    this.jobs.sort((a, b) => a.due - b.due)
    this.kick()
    return true
  }

  status (): QueueStatus {
    return { ...this.stats, queued: this.jobs.length }
  }

  /** Stops sending; what is still queued is dropped (and counted). */
  close (): number {
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const left = this.jobs.length
    this.jobs.length = 0
    this.stats.dropped += left
    for (let i = 0; i < left; i++) this.opts.onResult('dropped')
    return left
  }

  private kick (): void {
    if (this.running || this.closed) return
    const next = this.jobs[0]
    if (next === undefined) return
    const wait = next.due - Date.now()
    if (wait > 0) {
      if (this.timer !== null) return
      this.timer = setTimeout(() => { this.timer = null; this.kick() }, wait)
      this.timer.unref()
      return
    }
    this.jobs.shift()
    this.running = true
    next.send().then(() => {
      this.stats.sent++
      this.stats.failing = false
      this.opts.onResult('sent')
    }, (err: unknown) => {
      this.stats.failing = true
      this.stats.last_error = errorText(err)
      this.stats.last_error_at = Date.now()
      next.attempt++
      if (next.attempt >= this.opts.attempts() || this.closed) {
        this.stats.failed++
        this.opts.onResult('failed', err)
        return
      }
      this.opts.onResult('retried', err)
      const base = this.opts.baseBackoffMs ?? 1000
      next.due = Date.now() + Math.min(base * 2 ** (next.attempt - 1), this.opts.maxBackoffMs ?? 300_000)
      // behind the others: a notice that keeps failing does not hold up the rest for long
      this.jobs.push(next)
      this.jobs.sort((a, b) => a.due - b.due)
    }).finally(() => {
      this.running = false
      this.kick()
    })
  }
}

export function errorText (err: unknown): string {
  const e = err as { message?: unknown, code?: unknown }
  const text = typeof e?.message === 'string' && e.message !== '' ? e.message : typeof e?.code === 'string' ? e.code : String(err)
  return text.length > MAX_ERROR_TEXT ? text.slice(0, MAX_ERROR_TEXT) : text
}
