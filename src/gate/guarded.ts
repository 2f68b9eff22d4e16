import type { ServerResponse } from 'node:http'
import type { GateRequest } from './request.js'
import type { AppContext } from '../context.js'
import type { GuardedRoute } from './routes.js'
import type { RegisterDeps } from './register.js'
import { sendError } from '../reply.js'
import { hasBody } from './body.js'
import { forwardAsReceived } from './upstream.js'
import { threepidAdd } from './account-threepid.js'
import { uiaFallback } from './uia-fallback.js'

// The doors to a 3PID or an account besides requestToken and /register (routes.ts, GuardedRoute).
// SSO registration (pick_username, sso_register) makes accounts with no 3PID stage at all: under
// register.policy.require_3pid it is refused; otherwise forwarded as received.

export function guardedHandler (deps: RegisterDeps) {
  return async function guarded (request: GateRequest, res: ServerResponse, route: GuardedRoute, ctx: AppContext): Promise<void> {
    if (route.action === 'threepidAdd') { await threepidAdd(request, res, route.spelling, ctx, deps); return }
    if (route.action === 'uiaFallback') { await uiaFallback(request, res, route.stage, route.prefix, ctx); return }
    if (ctx.runtime().config.settings.register.policy.require_3pid) {
      request.log.info({ endpoint: 'sso', decision: 'deny', client_ip: request.ip }, 'SSO registration refused (require_3pid)')
      ctx.metrics.decisions.inc({ endpoint: 'register', medium: 'none', result: 'deny', rule: 'require_3pid' })
      ctx.audit.record({ endpoint: 'register', medium: 'none', address: null, result: 'deny', rule: 'require_3pid', detail: 'SSO registration', client_ip: request.ip })
      const unread = hasBody(request.raw) && !request.raw.complete
      sendError(res, 'THREEPID_REQUIRED', null, undefined, unread ? { Connection: 'close' } : undefined)
      if (unread) res.once('finish', () => request.raw.socket.destroy())
      return
    }
    await forwardAsReceived(ctx, request, res, hasBody(request.raw) ? request.raw : null)
  }
}
