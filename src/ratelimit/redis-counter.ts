import { Redis } from 'ioredis'
import { windowStart, type HitCounter } from './counter.js'

export class RedisCounter implements HitCounter {
  private readonly redis: Redis

  constructor (url: string) {
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true })
  }

  async hit (key: string, windowMs: number, now: number): Promise<number> {
    const k = `regguard:rl:${key}:${windowStart(now, windowMs)}`
    const res = await this.redis.multi().incr(k).pexpire(k, windowMs * 2).exec()
    const count = res?.[0]?.[1]
    if (typeof count !== 'number') throw new Error('redis: unexpected INCR answer')
    return count
  }

  async close (): Promise<void> {
    await this.redis.quit()
  }
}
