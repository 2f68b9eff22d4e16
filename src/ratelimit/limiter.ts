import { windowStart, type HitCounter } from './counter.js'

export interface Limit { max: number, windowMs: number }

export type LimitResult = { ok: true } | { ok: false, retryAfterMs: number }

const WITHIN: LimitResult = Object.freeze({ ok: true })

/** What a window's count means for a limit (max 0: no limit). */
export function limitResult (count: number, limit: Limit, now: number): LimitResult {
  if (limit.max <= 0 || count <= limit.max) return WITHIN
  return { ok: false, retryAfterMs: windowStart(now, limit.windowMs) + limit.windowMs - now }
}

/** Checks one limit; a counter failure lets the request through (logged by the caller). */
export async function checkLimit (counter: HitCounter, key: string, limit: Limit, now: number): Promise<LimitResult> {
  if (limit.max <= 0) return WITHIN
  return limitResult(await counter.hit(key, limit.windowMs, now), limit, now)
}

/** The same check, answered at once by a counter that can (HitCounter.hitNow); else null. */
export function checkLimitNow (counter: HitCounter, key: string, limit: Limit, now: number): LimitResult | null {
  if (limit.max <= 0) return WITHIN
  return counter.hitNow === undefined ? null : limitResult(counter.hitNow(key, limit.windowMs, now), limit, now)
}
