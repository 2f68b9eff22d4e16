import type { ServerResponse } from 'node:http'
import type { AppContext } from '../context.js'
import type { HitCounter } from '../ratelimit/counter.js'
import { clientKey } from '../ratelimit/client-key.js'
import { checkLimit, checkLimitNow, type LimitResult } from '../ratelimit/limiter.js'
import { sendError } from '../reply.js'
import type { GateRequest } from './request.js'

// /register refusals count towards register.rate_limit.per_ip, the requestToken endpoints' count
// of the same client: a client refusal after refusal (a flood of made-up stages or sessions) is
// soon answered 429 there and at /register, before its requests are judged or reach the
// homeserver. Allowed /register requests count nothing: a registration takes several.
// The counter is only asked on a refusal, so which clients are past the limit is remembered in
// this process until their window ends.

/** Clients remembered past the limit, per counter (one per app); the oldest forgotten past it */
const MAX_REMEMBERED = 10_000
const limitedUntil = new WeakMap<HitCounter, Map<string, number>>()

function keyOf (ctx: AppContext, request: GateRequest): string | null {
  const rl = ctx.runtime().config.settings.register.rate_limit
  if (!rl.enabled || rl.per_ip.max <= 0) return null
  // the key request-token.ts counts under
  return `ip:${clientKey(request.ip, rl.ipv6_prefix)}`
}

/** Answers 429 when the client is past the per-IP limit through its refusals; true then. */
export function refusalLimited (ctx: AppContext, request: GateRequest, res: ServerResponse): boolean {
  const key = keyOf(ctx, request)
  const until = key === null ? undefined : limitedUntil.get(ctx.counter)?.get(key)
  if (until === undefined) return false
  const now = Date.now()
  if (until <= now) { limitedUntil.get(ctx.counter)?.delete(key as string); return false }
  ctx.metrics.rateLimited.inc({ limit: 'ip' })
  request.log.info({ limit: 'ip', client_ip: request.ip, retry_after_ms: until - now }, 'rate limited')
  sendError(res, 'LIMIT_EXCEEDED', null, { retry_after_ms: until - now }, { 'Retry-After': String(Math.ceil((until - now) / 1000)) })
  return true
}

/** Counts one refusal; never waits: a counter elsewhere (Redis, the store) is answered later. */
export function countRefusal (ctx: AppContext, request: GateRequest): void {
  const key = keyOf(ctx, request)
  if (key === null) return
  const rule = ctx.runtime().config.settings.register.rate_limit.per_ip
  const now = Date.now()
  const bounds = { max: rule.max, windowMs: rule.window }
  const remember = (result: LimitResult): void => {
    if (result.ok) return
    let clients = limitedUntil.get(ctx.counter)
    if (clients === undefined) limitedUntil.set(ctx.counter, clients = new Map())
    if (clients.size >= MAX_REMEMBERED) clients.delete(clients.keys().next().value as string)
    clients.set(key, now + result.retryAfterMs)
  }
  const at = checkLimitNow(ctx.counter, key, bounds, now)
  if (at !== null) { remember(at); return }
  checkLimit(ctx.counter, key, bounds, now).then(remember, (err: unknown) => {
    // as for the requestToken endpoints: an unreachable counter limits nobody
    request.log.error({ err }, 'rate-limit counter failed; refusal not counted')
  })
}
