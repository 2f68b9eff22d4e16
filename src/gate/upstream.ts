import type { GateRequest } from './request.js'
import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { AppContext } from '../context.js'
import { FAILURE_ERROR, forward, type ForwardFailure, type ForwardOutcome } from '../homeserver/forward.js'
import { upstreamRequestHeaders } from '../homeserver/headers.js'
import { clientKey } from '../ratelimit/client-key.js'
import { hasBody } from './body.js'
import { sendError } from '../reply.js'

/**
 * The headers the homeserver gets for this request: as received, hop-by-hop removed,
 * X-Forwarded-* set; `keep` can drop more (by lower-case name).
 */
export function upstreamHeadersFor (ctx: AppContext, request: GateRequest, keep?: (lowerName: string) => boolean): string[] {
  const req = request.raw
  const remoteAddress = req.socket.remoteAddress ?? ''
  const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, {
    trusted: ctx.runtime().trustPeer(remoteAddress),
    remoteAddress
  })
  if (keep === undefined) return headers
  const kept: string[] = []
  for (let i = 0; i < headers.length; i += 2) {
    if (keep((headers[i] as string).toLowerCase())) kept.push(headers[i] as string, headers[i + 1] as string)
  }
  return kept
}

/** Answered by regguard itself: nothing went to the homeserver */
const NOT_FORWARDED: ForwardOutcome = Object.freeze({ answer: null, failure: null, headersSeconds: null, refusal: null })

/**
 * Forwards the request as received: method, raw target, headers, and the given body, over the
 * policed routes' own connections unless `passThrough`. A client that already has
 * server.per_client_concurrency requests in flight over them gets 429 instead.
 */
export async function forwardAsReceived (ctx: AppContext, request: GateRequest, res: ServerResponse, body: Buffer | Readable | null, collectBody?: number, passThrough = false): Promise<ForwardOutcome> {
  const { settings } = ctx.runtime().config
  const cap = settings.server.per_client_concurrency
  // computed once: a reload changing ipv6_prefix must not leave a count behind under another key
  const key = cap > 0 ? clientKey(request.ip, settings.register.rate_limit.ipv6_prefix) : null
  const inFlight = passThrough ? ctx.inFlight.passThrough : ctx.inFlight.policed
  if (key !== null && !inFlight.enter(key, cap)) {
    refuseConcurrency(ctx, request, res)
    return NOT_FORWARDED
  }
  let outcome: ForwardOutcome
  try {
    outcome = await forward(passThrough ? ctx.passThroughPool : ctx.pool, res, {
      method: request.raw.method ?? 'GET',
      path: request.target,
      headers: upstreamHeadersFor(ctx, request),
      body,
      collectBody
    })
  } finally {
    if (key !== null) inFlight.leave(key)
  }
  if (outcome.headersSeconds !== null) ctx.metrics.upstreamSeconds.observe(outcome.headersSeconds)
  if (outcome.failure === 'refused') {
    logRefusal(request, outcome.refusal)
  } else if (outcome.failure !== null) {
    ctx.metrics.upstreamErrors.inc({ kind: outcome.failure })
  }
  return outcome
}

// the client's request, not the homeserver, is at fault: 400 is answered
export function logRefusal (request: GateRequest, reason: string | null): void {
  request.log.warn({ reason, method: request.raw.method, client_ip: request.ip }, 'request refused: it cannot be forwarded as received')
}

/** For a buffered exchange that failed: the error for its kind, and the log line of a refusal. */
export function answerUpstreamFailure (request: GateRequest, res: ServerResponse, failure: ForwardFailure, refusal: string | null = null): void {
  if (failure === 'refused') logRefusal(request, refusal)
  sendError(res, FAILURE_ERROR[failure])
}

/** A short wait: the cap frees as soon as one of the client's own requests ends. */
const CONCURRENCY_RETRY_MS = 1000

export function refuseConcurrency (ctx: AppContext, request: GateRequest, res: ServerResponse): void {
  ctx.metrics.rateLimited.inc({ limit: 'concurrency' })
  request.log.info({ limit: 'concurrency', client_ip: request.ip }, 'rate limited')
  const headers: Record<string, string> = { 'Retry-After': String(CONCURRENCY_RETRY_MS / 1000) }
  // an unread body (an upload) would otherwise be read to its end just to keep the connection
  if (hasBody(request.raw) && !request.raw.complete) {
    headers.Connection = 'close'
    res.once('finish', () => request.raw.socket.destroy())
  }
  sendError(res, 'CONCURRENCY_EXCEEDED', null, { retry_after_ms: CONCURRENCY_RETRY_MS }, headers)
}
