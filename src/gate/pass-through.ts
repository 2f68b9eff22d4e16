import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import type { ForwardRoute } from './routes.js'
import { hasBody } from './body.js'
import { sendError } from '../reply.js'
import { forwardAsReceived, rawTarget } from './upstream.js'

/** Everything regguard does not police: streamed to the homeserver and back untouched. */
export function passThroughHandler () {
  return async function passThrough (request: FastifyRequest, reply: FastifyReply, _route: ForwardRoute, ctx: AppContext): Promise<void> {
    reply.hijack()
    // Synapse routes only origin-form targets ("/..."); anything else is not worth a round trip
    if (!rawTarget(request).startsWith('/')) { sendError(reply.raw, 'UNRECOGNIZED'); return }
    await forwardAsReceived(ctx, request, reply.raw, hasBody(request.raw) ? request.raw : null, undefined, true)
  }
}
