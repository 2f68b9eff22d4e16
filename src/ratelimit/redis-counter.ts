import { Redis } from 'ioredis'
import { windowStart, type HitCounter } from './counter.js'

export interface RedisCounterOptions {
  /** A hit that has no answer by then fails (and the caller lets the request through) */
  timeoutMs: number
  /** Redis went away (first error only) and came back: logged by the caller */
  onDown?: (err: Error) => void
  onUp?: () => void
}

export class RedisCounter implements HitCounter {
  private readonly redis: Redis
  private down = false

  constructor (url: string, private readonly opts: RedisCounterOptions = { timeoutMs: 1000 }) {
    this.redis = new Redis(url, {
      lazyConnect: false,
      // queued while (re)connecting, so the first requests after start-up are counted; a
      // queued hit fails after one reconnection attempt or at the timeout, whichever is first
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      commandTimeout: opts.timeoutMs,
      // keeps trying for as long as it takes, at most a second apart, so counting resumes soon
      // after Redis is back
      retryStrategy: (times) => Math.min(times * 100, 1000)
    })
    // without a listener ioredis prints every reconnection failure to stderr
    this.redis.on('error', (err: Error) => {
      if (this.down) return
      this.down = true
      this.opts.onDown?.(err)
    })
    this.redis.on('ready', () => {
      if (!this.down) return
      this.down = false
      this.opts.onUp?.()
    })
  }

  async hit (key: string, windowMs: number, now: number): Promise<number> {
    const k = `regguard:rl:${key}:${windowStart(now, windowMs)}`
    let res
    try {
      res = await this.redis.multi().incr(k).pexpire(k, windowMs * 2).exec()
    } catch (err) {
      // a connection that stopped answering (a peer gone silent) is not noticed by TCP for
      // minutes: drop it and reconnect, so counting resumes once Redis answers again
      if (this.redis.status === 'ready' && /timed out/i.test((err as Error).message)) this.redis.disconnect(true)
      throw err
    }
    const count = res?.[0]?.[1]
    if (typeof count !== 'number') throw new Error('redis: unexpected INCR answer')
    return count
  }

  async close (): Promise<void> {
    // quit waits for an answer that never comes while Redis is away
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => { this.redis.disconnect() })
    else this.redis.disconnect()
  }
}
