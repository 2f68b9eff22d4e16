import type { ServerResponse } from 'node:http'
import type { GateRequest } from './request.js'
import type { AppContext } from '../context.js'
import type { ForwardRoute } from './routes.js'
import { hasBody } from './body.js'
import { sendError } from '../reply.js'
import { forwardAsReceived } from './upstream.js'

/** Everything regguard does not police: streamed to the homeserver and back untouched. */
export function passThroughHandler () {
  return async function passThrough (request: GateRequest, res: ServerResponse, _route: ForwardRoute, ctx: AppContext): Promise<void> {
    // Synapse routes only origin-form targets ("/..."); anything else is not worth a round trip
    if (!request.target.startsWith('/')) { sendError(res, 'UNRECOGNIZED'); return }
    await forwardAsReceived(ctx, request, res, hasBody(request.raw) ? request.raw : null, undefined, true)
  }
}
