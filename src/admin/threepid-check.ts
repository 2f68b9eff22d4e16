import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import { missingParamsMessage } from '../errors.js'
import { fail } from './scope.js'
import { canonicalInviteAddress } from '../invites/learn.js'
import { pendingInvite } from '../invites/pending.js'
import { inviteWouldDecide } from '../policy/policy.js'
import { decideAddress } from '../decide.js'

// The backend of Synapse's threepid_checker module (matrix-org/synapse-3pid-checker), so
// Synapse enforces regguard's policy itself, even for requests that never crossed the proxy.
// The module allows when "hs" is its server_name, unless requires_invite is true and invited
// is not. The answers below reach the proxy's decision under those rules:
//   lists/default allow                         -> {"hs"}
//   the default denies, invite rule on          -> {"hs", "requires_invite": true, "invited": <pending invite?>}
//   a blacklist kind denies (no invite beats it, unless invite_overrides_blacklist: then as above)
//   or the invite rule is off                   -> {}
// The module sends no header and appends its own query to its url, so admin.threepid_check_token
// travels as the path's last segment (.../threepid_check/TOKEN); Authorization: Bearer works too.
// Without a token the check answers only requests made to the admin listener's own address with
// no Origin header: a page the operator's browser visits (DNS rebinding, a form or fetch to
// 127.0.0.1) can neither read the policy out address by address nor fill the history.

export const THREEPID_CHECK_PATH = '/_regguard/v1/threepid_check'

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

function headerValues (raw: IncomingMessage, name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.rawHeaders.length; i += 2) {
    if ((raw.rawHeaders[i] as string).toLowerCase() === name) out.push(raw.rawHeaders[i + 1] as string)
  }
  return out
}

/** The Host values that name the address this connection came in on (its own port included). */
export function ownHosts (localAddress: string, localPort: number): Set<string> {
  const out = new Set<string>()
  const add = (host: string): void => {
    out.add(`${host}:${localPort}`)
    if (localPort === 80) out.add(host)
  }
  const v4 = localAddress.startsWith('::ffff:') ? localAddress.slice(7) : null
  if (localAddress.includes(':')) add(`[${localAddress}]`)
  else add(localAddress)
  if (v4 !== null) add(v4)
  const loopback = localAddress === '::1' || /^127\./.test(v4 ?? localAddress)
  if (loopback) add('localhost')
  return out
}

/** Why this request may not be answered, or null when it may (src/admin/synapse-module.ts applies it too). */
export function refusal (request: FastifyRequest, token: string, pathToken: string | undefined): string | null {
  if (token !== '') {
    const auth = headerValues(request.raw, 'authorization')
    const m = auth.length === 1 ? /^Bearer +(\S+) *$/i.exec(auth[0] as string) : null
    const given = pathToken ?? m?.[1]
    if (given === undefined) return 'no token'
    return timingSafeEqual(digest(given), digest(token)) ? null : 'wrong token'
  }
  if (pathToken !== undefined) return 'a token, but admin.threepid_check_token is empty'
  if (headerValues(request.raw, 'origin').length > 0) return 'an Origin header (a browser page)'
  const hosts = headerValues(request.raw, 'host')
  const socket = request.raw.socket
  if (hosts.length !== 1 || !ownHosts(socket.localAddress ?? '', socket.localPort ?? 0).has((hosts[0] as string).toLowerCase())) return 'a Host that is not the admin listener\'s own address'
  return null
}

export function threepidCheckRoute (admin: FastifyInstance, ctx: AppContext): void {
  const handler = async (request: FastifyRequest, reply: import('fastify').FastifyReply): Promise<unknown> => {
    const pathToken = (request.params as { token?: string } | undefined)?.token
    const refused = refusal(request, ctx.runtime().config.settings.admin.threepid_check_token, pathToken)
    if (refused !== null) {
      request.log.warn({ why: refused }, 'threepid check refused')
      if (refused === 'no token') return fail(reply, 'MISSING_TOKEN', 'Missing threepid_check token')
      if (refused.includes('token')) return fail(reply, 'UNKNOWN_TOKEN', 'Unknown threepid_check token')
      return fail(reply, 'REQUESTER_DENIED', `threepid_check refuses requests with ${refused}; set admin.threepid_check_token to call it from elsewhere`)
    }
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
    const { decision: base, mx } = await decideAddress(config.policy, c.medium, c.address, { findInvite: null, lookupMx: ctx.mx.lookup })
    let answer: Record<string, unknown>
    if (base.allowed) answer = { hs }
    else if (inviteWouldDecide(config.policy, c.medium, c.address, mx)) {
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
  }
  admin.get(THREEPID_CHECK_PATH, handler)
  admin.get(`${THREEPID_CHECK_PATH}/:token`, handler)
}
