import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import type { MatrixErrorName } from '../errors.js'
import { pendingInvite } from '../invites/pending.js'
import { redactAddress } from '../log.js'
import { decide, type Decision } from '../policy/policy.js'
import { parseTokenRequest } from '../policy/token-request.js'
import type { TokenRoute } from '../proxy/classify.js'
import { readBody } from './body.js'
import { sendError, sendTooLarge } from './respond.js'
import { forwardAsReceived } from './upstream.js'

const DENIED: Record<string, MatrixErrorName> = {
  'register/email': 'EMAIL_DENIED_REGISTER',
  'register/msisdn': 'MSISDN_DENIED_REGISTER',
  'account/email': 'EMAIL_DENIED_ACCOUNT',
  'account/msisdn': 'MSISDN_DENIED_ACCOUNT'
}

/**
 * POST .../(register|account/3pid)/(email|msisdn)/requestToken: read the body as Synapse
 * would, decide, and either answer 403 or forward the exact bytes received.
 */
export function requestTokenHandler (ctx: AppContext, routeOf: (request: FastifyRequest) => TokenRoute) {
  return async function requestToken (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    reply.hijack()
    const res = reply.raw
    const route = routeOf(request)
    const body = await readBody(request.raw)
    if (!body.ok) {
      if (body.reason === 'too-large') sendTooLarge(request.raw, res)
      else res.destroy()
      return
    }
    const parsed = parseTokenRequest(route.medium, body.bytes)
    if (!parsed.ok) { sendError(res, parsed.error, parsed.message); return }

    const { config } = ctx.runtime()
    const invite = await pendingInvite(ctx.store, config.policy, parsed.medium, parsed.address, request.log)
    const decision: Decision = decide(config.policy, parsed.medium, parsed.address, invite)
    request.log.info({
      endpoint: route.endpoint,
      medium: route.medium,
      decision: decision.allowed ? 'allow' : 'deny',
      rule: decision.rule,
      detail: decision.detail,
      client_ip: request.ip,
      address: redactAddress(parsed.medium, parsed.address, config.settings.log.full_addresses)
    }, 'policy decision')

    if (!decision.allowed) {
      const custom = route.medium === 'email' ? config.settings.register.messages.email_denied : config.settings.register.messages.msisdn_denied
      sendError(res, DENIED[`${route.endpoint}/${route.medium}`] as MatrixErrorName, custom === '' ? null : custom)
      return
    }
    await forwardAsReceived(ctx, request, res, body.bytes)
  }
}
