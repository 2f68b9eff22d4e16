// A fixed-window hit counter: hit() counts one event for `key` in the window containing `now`
// and returns how many that window holds so far. Implementations: in memory (one instance),
// the shared store, or Redis (several instances).

export interface HitCounter {
  hit: (key: string, windowMs: number, now: number) => Promise<number>
  close?: () => Promise<void>
  /**
   * Settles within register.rate_limit.timeout_ms, as in force now, by itself (at once, or with
   * a timer of its own): the caller then adds no deadline, which would be a second timer a hit
   */
  readonly settlesInTime?: boolean
  /** The same count, returned at once (a counter in this process): no promise, no await */
  hitNow?: (key: string, windowMs: number, now: number) => number
}

export function windowStart (now: number, windowMs: number): number {
  return now - (now % windowMs)
}

export class MemoryCounter implements HitCounter {
  readonly settlesInTime = true
  private readonly windows = new Map<string, { start: number, count: number }>()
  private lastSweep = 0

  async hit (key: string, windowMs: number, now: number): Promise<number> {
    return this.hitNow(key, windowMs, now)
  }

  hitNow (key: string, windowMs: number, now: number): number {
    const start = windowStart(now, windowMs)
    // forget finished windows now and then, so a flood of distinct keys cannot grow memory forever
    if (now - this.lastSweep > windowMs) {
      for (const [k, w] of this.windows) if (w.start < start) this.windows.delete(k)
      this.lastSweep = now
    }
    const w = this.windows.get(key)
    if (w === undefined || w.start !== start) {
      this.windows.set(key, { start, count: 1 })
      return 1
    }
    w.count++
    return w.count
  }
}
