import { windowStart, type HitCounter } from './counter.js'

export interface Limit { max: number, windowMs: number }

export type LimitResult = { ok: true } | { ok: false, retryAfterMs: number }

/** Checks one limit; a counter failure lets the request through (logged by the caller). */
export async function checkLimit (counter: HitCounter, key: string, limit: Limit, now: number): Promise<LimitResult> {
  if (limit.max <= 0) return { ok: true }
  const count = await counter.hit(key, limit.windowMs, now)
  if (count <= limit.max) return { ok: true }
  return { ok: false, retryAfterMs: windowStart(now, limit.windowMs) + limit.windowMs - now }
}
