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

/** Forwards the request as received: method, raw target, headers, and the given body. */
export function forwardAsReceived (ctx: AppContext, request: FastifyRequest, res: ServerResponse, body: Buffer | Readable | null, collectBody?: number): Promise<ForwardOutcome> {
  const req = request.raw
  const remoteAddress = req.socket.remoteAddress ?? ''
  const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, {
    trusted: ctx.runtime().trustPeer(remoteAddress),
    remoteAddress
  })
  return forward(ctx.pool, res, {
    method: req.method ?? 'GET',
    path: rawTarget(request),
    headers,
    body,
    collectBody
  })
}
