import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.js'
import { missingParamsMessage } from '../errors.js'
import { fail } from './scope.js'
import { canonicalInviteAddress } from '../invites/learn.js'
import { pendingInvite } from '../invites/pending.js'
import { decideAddress } from '../decide.js'

// The backend of Synapse's threepid_checker module (matrix-org/synapse-3pid-checker), so
// Synapse enforces regguard's policy itself, even for requests that never crossed the proxy.
// The module allows when "hs" is its server_name, unless requires_invite is true and invited
// is not. The answers below reach the proxy's decision under those rules:
//   lists/default allow                         -> {"hs"}
//   they deny, invite rule on                   -> {"hs", "requires_invite": true, "invited": <pending invite?>}
//   they deny, invite rule off                  -> {}
// No token: the module sends none; the admin listener is on loopback.

export const THREEPID_CHECK_PATH = '/_regguard/v1/threepid_check'

export function threepidCheckRoute (admin: FastifyInstance, ctx: AppContext): void {
  admin.get(THREEPID_CHECK_PATH, async (request, reply) => {
    const q = request.query as Record<string, unknown>
    const absent = ['medium', 'address'].filter((k) => q[k] === undefined || q[k] === '')
    if (absent.length > 0) return fail(reply, 'MISSING_PARAM', missingParamsMessage(absent))
    if (typeof q.medium !== 'string' || typeof q.address !== 'string') return fail(reply, 'INVALID_PARAM', 'medium and address may be given once')
    if (q.medium !== 'email' && q.medium !== 'msisdn') return fail(reply, 'INVALID_PARAM', 'medium must be "email" or "msisdn"')
    // Synapse sends its canonical form already; canonicalising again costs little and keeps
    // one spelling per address whoever calls
    const c = canonicalInviteAddress(q.medium, q.address)
    if (c === null) return fail(reply, 'INVALID_PARAM', `address is not a valid ${q.medium === 'email' ? 'email address' : 'phone number'}`)

    const { config } = ctx.runtime()
    const hs = config.settings.homeserver.server_name
    // a failed mail-server lookup (on_error deny) is a denial here: the module has no "try again"
    const { decision: base } = await decideAddress(config.policy, c.medium, c.address, { findInvite: null, lookupMx: ctx.mx.lookup })
    let answer: Record<string, unknown>
    if (base.allowed) answer = { hs }
    else if (config.policy.invite) {
      let invite
      try {
        invite = await pendingInvite(ctx.store, config.policy, c.medium, c.address, ctx.inviteIndex)
      } catch (err) {
        // the module fails closed on any non-2xx (the user's request fails with 500, nothing is
        // created), so the temporary error here keeps Synapse as strict as the proxy
        request.log.warn({ err, medium: c.medium }, 'invite lookup failed; threepid check answered with a temporary error')
        return fail(reply, 'STORE_UNAVAILABLE')
      }
      answer = { hs, requires_invite: true, invited: invite !== null }
    } else answer = {}
    request.log.info({
      medium: c.medium,
      address: ctx.redactAddress(c.medium, c.address),
      rule: base.rule,
      detail: base.detail,
      answer
    }, 'threepid check')
    ctx.audit.record({ endpoint: 'threepid_check', medium: c.medium, address: c.address, result: answer.hs !== undefined && answer.invited !== false ? 'allow' : 'deny', rule: answer.invited === true ? 'invite' : base.rule, detail: answer.invited === true ? 'pending invite' : base.detail, client_ip: request.ip })
    return answer
  })
}
