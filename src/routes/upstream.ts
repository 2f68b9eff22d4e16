import type { FastifyRequest } from 'fastify'
import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { AppContext } from '../context.js'
import { forward, type ForwardOutcome } from '../proxy/forward.js'
import { upstreamRequestHeaders } from '../proxy/headers.js'

/** The request target exactly as the client sent it (fastify routes on a rewritten one). */
export function rawTarget (request: FastifyRequest): string {
  return (request.raw as { originalUrl?: string }).originalUrl ?? request.raw.url ?? '/'
}

/**
 * The headers the homeserver gets for this request: as received, hop-by-hop removed,
 * X-Forwarded-* set; `keep` can drop more (by lower-case name).
 */
export function upstreamHeadersFor (ctx: AppContext, request: FastifyRequest, keep?: (lowerName: string) => boolean): string[] {
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

/** Forwards the request as received: method, raw target, headers, and the given body. */
export async function forwardAsReceived (ctx: AppContext, request: FastifyRequest, res: ServerResponse, body: Buffer | Readable | null, collectBody?: number): Promise<ForwardOutcome> {
  const outcome = await forward(ctx.pool, res, {
    method: request.raw.method ?? 'GET',
    path: rawTarget(request),
    headers: upstreamHeadersFor(ctx, request),
    body,
    collectBody
  })
  if (outcome.headersSeconds !== null) ctx.metrics.upstreamSeconds.observe(outcome.headersSeconds)
  if (outcome.failure !== null) ctx.metrics.upstreamErrors.inc({ kind: outcome.failure })
  return outcome
}
