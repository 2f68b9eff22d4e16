import type { Serializable } from 'node:child_process'
import type { HitCounter } from './counter.js'

// Rate-limit counts shared by the workers of one regguard (server.workers > 1): a worker's hit
// goes over the IPC channel node:cluster opens to it, and the primary counts it in its one
// MemoryCounter. Counted per worker, a limit of 5 would be 5 per worker, and the kernel spreads
// one client's connections over all of them.

const HIT = 'regguard:rl-hit'
const COUNT = 'regguard:rl-count'

// A message costs each side microseconds of serialising and a wake-up of the other, whatever it
// holds: the hits asked while the event loop goes round once (under load, many requests' worth)
// travel together, and their counts come back together.
type Hit = [id: number, key: string, windowMs: number, now: number]
/** a count, or the error the primary's counter failed with */
type Count = [id: number, count: number | string]
interface HitMessage { type: typeof HIT, hits: Hit[] }
interface CountMessage { type: typeof COUNT, counts: Count[] }

/** The worker's end of the IPC channel (process, in a cluster worker) */
export interface ChannelToPrimary {
  connected?: boolean
  send?: (message: Serializable, callback: (err: Error | null) => void) => boolean
  on: (event: 'message', listener: (message: unknown) => void) => unknown
  off: (event: 'message', listener: (message: unknown) => void) => unknown
}

/** The primary's end of one worker's channel (a cluster Worker) */
export interface ChannelToWorker {
  isConnected: () => boolean
  send: (message: Serializable, callback: (err: Error | null) => void) => boolean
  on: (event: 'message', listener: (message: unknown) => void) => unknown
}

interface Waiting { resolve: (n: number) => void, reject: (err: Error) => void, timer: NodeJS.Timeout }

export class IpcCounter implements HitCounter {
  /** each hit has its own timer of timeoutMs() */
  readonly settlesInTime = true
  private next = 0
  private readonly waiting = new Map<number, Waiting>()
  private queued: Hit[] = []

  /**
   * `timeoutMs` is read at each hit (register.rate_limit.timeout_ms, reloadable): past it the
   * hit fails, and the caller lets the request through, as with any counter that does not answer.
   */
  constructor (private readonly channel: ChannelToPrimary, private readonly timeoutMs: () => number) {
    channel.on('message', this.onMessage)
  }

  hit (key: string, windowMs: number, now: number): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.channel.send === undefined || this.channel.connected === false) {
        reject(new Error('no IPC channel to the primary process'))
        return
      }
      const id = ++this.next
      const ms = this.timeoutMs()
      const timer = setTimeout(() => { this.settle(id, new Error(`the primary process gave no count within ${ms} ms`)) }, ms)
      this.waiting.set(id, { resolve, reject, timer })
      if (this.queued.length === 0) setImmediate(this.flush)
      this.queued.push([id, key, windowMs, now])
    })
  }

  private readonly flush = (): void => {
    const hits = this.queued
    this.queued = []
    const message: HitMessage = { type: HIT, hits }
    const failed = (err: Error): void => { for (const [id] of hits) this.settle(id, err) }
    try {
      this.channel.send?.call(this.channel, message, (err) => { if (err !== null) failed(err) })
    } catch (err) {
      // the channel closed since the hits were asked
      failed(err as Error)
    }
  }

  private readonly onMessage = (message: unknown): void => {
    const m = message as Partial<CountMessage> | null
    if (m?.type !== COUNT || !Array.isArray(m.counts)) return
    for (const [id, count] of m.counts) this.settle(id, typeof count === 'number' ? count : new Error(count))
  }

  private settle (id: number, outcome: number | Error): void {
    const w = this.waiting.get(id)
    if (w === undefined) return
    this.waiting.delete(id)
    clearTimeout(w.timer)
    if (typeof outcome === 'number') w.resolve(outcome)
    else w.reject(outcome)
  }

  async close (): Promise<void> {
    this.channel.off('message', this.onMessage)
    for (const id of [...this.waiting.keys()]) this.settle(id, new Error('rate-limit counter closed'))
  }
}

/** The primary's side: answers one worker's hits from `counter` (the MemoryCounter all share). */
export function countForWorker (worker: ChannelToWorker, counter: HitCounter): void {
  worker.on('message', (message) => {
    const m = message as Partial<HitMessage> | null
    if (m?.type !== HIT || !Array.isArray(m.hits)) return
    const hits = m.hits.filter((h) => Array.isArray(h) && typeof h[0] === 'number' && typeof h[1] === 'string' && typeof h[2] === 'number' && typeof h[3] === 'number')
    void Promise.all(hits.map(([id, key, windowMs, now]) => counter.hit(key, windowMs, now).then(
      (count): Count => [id, count],
      (err: Error): Count => [id, err.message !== '' ? err.message : 'the primary process could not count']
    ))).then((counts) => {
      // a worker gone since it asked needs no answer
      const reply: CountMessage = { type: COUNT, counts }
      if (worker.isConnected()) worker.send(reply, () => {})
    })
  })
}
