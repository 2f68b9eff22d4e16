import type { Serializable } from 'node:child_process'
import type { HitCounter } from './counter.js'

// Rate-limit counts shared by the workers of one regguard (server.workers > 1): a worker's hit
// goes over the IPC channel node:cluster opens to it, and the primary counts it in its one
// MemoryCounter. Counted per worker, a limit of 5 would be 5 per worker, and the kernel spreads
// one client's connections over all of them.

const HIT = 'regguard:rl-hit'
const COUNT = 'regguard:rl-count'

interface HitMessage { type: typeof HIT, id: number, key: string, windowMs: number, now: number }
interface CountMessage { type: typeof COUNT, id: number, count?: number, error?: string }

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
  private next = 0
  private readonly waiting = new Map<number, Waiting>()

  /**
   * `timeoutMs` is read at each hit (register.rate_limit.timeout_ms, reloadable): past it the
   * hit fails, and the caller lets the request through, as with any counter that does not answer.
   */
  constructor (private readonly channel: ChannelToPrimary, private readonly timeoutMs: () => number) {
    channel.on('message', this.onMessage)
  }

  hit (key: string, windowMs: number, now: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const send = this.channel.send
      if (send === undefined || this.channel.connected === false) {
        reject(new Error('no IPC channel to the primary process'))
        return
      }
      const id = ++this.next
      const ms = this.timeoutMs()
      const timer = setTimeout(() => { this.settle(id, new Error(`the primary process gave no count within ${ms} ms`)) }, ms)
      this.waiting.set(id, { resolve, reject, timer })
      const message: HitMessage = { type: HIT, id, key, windowMs, now }
      send.call(this.channel, message, (err) => { if (err !== null) this.settle(id, err) })
    })
  }

  private readonly onMessage = (message: unknown): void => {
    const m = message as Partial<CountMessage> | null
    if (m?.type !== COUNT || typeof m.id !== 'number') return
    this.settle(m.id, typeof m.count === 'number' ? m.count : new Error(m.error ?? 'the primary process could not count'))
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
    if (m?.type !== HIT || typeof m.id !== 'number' || typeof m.key !== 'string' || typeof m.windowMs !== 'number' || typeof m.now !== 'number') return
    const id = m.id
    const answer = (reply: CountMessage): void => {
      // a worker gone since it asked needs no answer
      if (worker.isConnected()) worker.send(reply, () => {})
    }
    counter.hit(m.key, m.windowMs, m.now).then(
      (count) => { answer({ type: COUNT, id, count }) },
      (err: Error) => { answer({ type: COUNT, id, error: err.message }) }
    )
  })
}
