import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import { fail } from './scope.js'
import { refusal } from './threepid-check.js'
import { decideAddress } from '../decide.js'
import { inviteWouldDecide, type Decision } from '../policy/policy.js'
import { decideRequester, hasRequesterRules } from '../policy/requester.js'
import { decideUsername, hasUsernameRules, registeredLocalpart } from '../policy/username.js'
import { canonicalInviteAddress } from '../invites/learn.js'
import { inviterMatcher, inviterPatterns, isUserId } from '../invites/inviters.js'
import { pendingInvite } from '../invites/pending.js'

// The backend of regguard's own Synapse module (synapse-module/, docs/synapse-module.md): Synapse
// asks from inside, so registrations that never crossed the proxy (another listener, SSO, the
// admin API) and the 3PID invites it is about to make are judged by the same policy functions
// the proxy uses. The module turns {"allow": false} into DENY / M_FORBIDDEN, and any other
// answer (a non-2xx, a timeout, bad JSON) into its on_error. So a store that cannot answer is a
// 503 here, never a guess.
// Authenticated as threepid_check is (its refusal()): admin.synapse_module_token as
// Authorization: Bearer; without a token, only requests to the listener's own address with no
// Origin header.

export const SYNAPSE_MODULE_PATH = '/_regguard/v1/synapse_module'

// A UIA session's user agents and IPs arrive whole, each judged: the body is bounded instead
const BODY_LIMIT = 256 * 1024
const MAX_REQUEST_INFO = 1000
const MAX_TEXT = 4096

interface Verdict { allow: boolean, rule: string, detail: string }

function isText (v: unknown, max = MAX_TEXT): v is string {
  return typeof v === 'string' && v.length <= max
}

function authorized (request: FastifyRequest, reply: FastifyReply, ctx: AppContext): boolean {
  const refused = refusal(request, ctx.runtime().config.settings.admin.synapse_module_token, undefined)
  if (refused === null) return true
  request.log.warn({ why: refused }, 'synapse module request refused')
  if (refused === 'no token') void fail(reply, 'MISSING_TOKEN', 'Missing synapse_module token')
  else if (refused.includes('token')) void fail(reply, 'UNKNOWN_TOKEN', 'Unknown synapse_module token')
  else void fail(reply, 'REQUESTER_DENIED', `synapse_module refuses requests with ${refused}; set admin.synapse_module_token to call it from elsewhere`)
  return false
}

function bodyObject (request: FastifyRequest): Record<string, unknown> | null {
  const b = request.body
  return b !== null && typeof b === 'object' && !Array.isArray(b) ? b as Record<string, unknown> : null
}

interface RegistrationAsk {
  email: string | null
  username: string | null
  requestInfo: Array<[string, string]>
  authProvider: string | null
}

/** The module's registration body, or why it is not one. */
function readRegistration (b: Record<string, unknown>): RegistrationAsk | string {
  const opt = (k: string): string | null | undefined => {
    const v = b[k]
    if (v === undefined || v === null) return null
    return isText(v) ? v : undefined
  }
  const email = opt('email')
  const username = opt('username')
  const authProvider = opt('auth_provider_id')
  if (email === undefined || username === undefined || authProvider === undefined) return `email, username and auth_provider_id are strings of at most ${MAX_TEXT} characters, or null`
  const info = b.request_info
  if (!Array.isArray(info) || info.length > MAX_REQUEST_INFO) return `request_info is a list of at most ${MAX_REQUEST_INFO} [user_agent, ip] pairs`
  const requestInfo: Array<[string, string]> = []
  for (const e of info) {
    if (!Array.isArray(e) || e.length !== 2 || !isText(e[0]) || !isText(e[1])) return 'each request_info entry is [user_agent, ip], two strings'
    requestInfo.push([e[0], e[1]])
  }
  return { email, username, requestInfo, authProvider }
}

async function judgeRegistration (ctx: AppContext, ask: RegistrationAsk): Promise<Verdict & { address: string | null }> {
  const { config } = ctx.runtime()
  const settings = config.settings.register.policy
  const policy = config.policy
  // Synapse's admin API and shared-secret registration pass no user agent and no IP: nothing
  // else tells the operator's own registrations apart (guests and JWT logins look the same)
  if (ask.requestInfo.length === 0 && settings.admin_registrations === 'allow') {
    return { allow: true, rule: 'admin_registrations', detail: 'no user agent and no IP (admin API or shared secret)', address: null }
  }
  if (hasRequesterRules(policy.requester)) {
    // none given (admin_registrations: policy): judged as a request without a User-Agent header
    const pairs: Array<[string, string | null]> = ask.requestInfo.length > 0 ? ask.requestInfo : [['', null]]
    for (const [ua, ip] of pairs) {
      const d = decideRequester(policy.requester, ip, [ua])
      if (!d.allowed) return { allow: false, rule: 'requester', detail: d.detail, address: null }
    }
  }
  if (hasUsernameRules(policy.username)) {
    const d = decideUsername(policy.username, ask.username === null ? null : registeredLocalpart(ask.username))
    if (!d.allowed) return { allow: false, rule: d.rule ?? 'username', detail: d.detail, address: null }
  }
  if (ask.email !== null) {
    const c = canonicalInviteAddress('email', ask.email)
    if (c === null) return { allow: false, rule: 'email', detail: 'not a valid email address', address: null }
    // a store that cannot answer throws StoreUnavailableError: a 503, the module's on_error
    const { decision } = await decideAddress(policy, 'email', c.address, {
      findInvite: () => pendingInvite(ctx.store, policy, 'email', c.address, ctx.inviteIndex),
      lookupMx: ctx.mx.lookup
    })
    // a failed mail-server lookup (on_error deny) denies: Synapse has no "try again" here
    return { allow: decision.allowed, rule: decision.rule, detail: decision.detail, address: c.address }
  }
  if (ask.authProvider !== null && settings.sso_providers.includes(ask.authProvider)) {
    return { allow: true, rule: 'sso_providers', detail: `SSO provider ${ask.authProvider}`, address: null }
  }
  if (settings.require_3pid) {
    return { allow: false, rule: 'require_3pid', detail: ask.authProvider === null ? 'no email' : `no email, SSO provider ${ask.authProvider} not in sso_providers`, address: null }
  }
  return { allow: true, rule: 'no_email', detail: 'no email, require_3pid off', address: null }
}

interface InviteAsk { inviter: string, medium: string, address: string, roomId: string }

function readInvite (b: Record<string, unknown>): InviteAsk | string {
  const { inviter, medium, address, room_id: roomId } = b
  if (!isText(inviter, 255) || !isUserId(inviter)) return 'inviter is a Matrix user ID'
  if (!isText(medium, 32) || !isText(address, 512) || !isText(roomId, 255)) return 'medium, address and room_id are strings'
  return { inviter, medium, address, roomId }
}

/**
 * An invite is refused when it can never open registration (a blacklist kind denies the
 * address and no invite can lift that) and, when the module is where invites are learned,
 * when the inviter may not teach (invites.learn.inviters, invitees_may_invite, per_inviter):
 * an invite that is sent but not learned mails someone a link to a registration they cannot
 * finish. Otherwise it is allowed, and recorded when the module learns.
 */
async function judgeInvite (ctx: AppContext, ask: InviteAsk, log: FastifyRequest['log']): Promise<Verdict & { medium: 'email' | 'msisdn' | 'none', address: string | null }> {
  const { config } = ctx.runtime()
  const settings = config.settings
  const learn = settings.invites.learn
  const c = canonicalInviteAddress(ask.medium, ask.address)
  if (c === null) return { allow: true, rule: 'unusable_address', detail: 'not an email address or phone number regguard can use: not recorded', medium: 'none', address: null }
  const { decision, mx } = await decideAddress(config.policy, c.medium, c.address, { findInvite: null, lookupMx: ctx.mx.lookup })
  if (blocked(decision) && !inviteWouldDecide(config.policy, c.medium, c.address, mx)) {
    return { allow: false, rule: decision.rule, detail: decision.detail, ...c }
  }
  const learns = learn.enabled && (learn.source === 'module' || learn.source === 'both')
  if (!learns) return { allow: true, rule: 'not_learned', detail: `invites.learn.source ${learn.source}${learn.enabled ? '' : ', learning off'}`, ...c }

  const inviter = ask.inviter
  if (!inviterMatcher(inviterPatterns(learn.inviters, settings.homeserver.server_name))(inviter)) {
    return { allow: false, rule: 'inviter-not-trusted', detail: inviter, ...c }
  }
  if (!learn.invitees_may_invite) {
    const registered = await ctx.store.registrations.get(inviter)
    if (registered !== null && registered.invite_source === 'traffic') return { allow: false, rule: 'inviter-invited', detail: inviter, ...c }
  }
  const now = Date.now()
  // sliding window, revoked invites included (as the proxy counts); concurrent calls may overshoot by one
  const taught = learn.per_inviter.max === 0 ? 0 : await ctx.store.invites.countByInviter(inviter, now - learn.per_inviter.window)
  if (taught >= learn.per_inviter.max) return { allow: false, rule: 'per-inviter-limit', detail: `${inviter}: ${taught} in the window`, ...c }
  // recorded before Synapse asks the identity server: if that step fails the invite stays
  // recorded though none was sent (docs/synapse-module.md). The source is "traffic", the
  // learned kind, so invitees_may_invite and every view of learned invites treat it alike.
  const [inv] = await ctx.store.invites.addMany([{ medium: c.medium, address: c.address, room_id: ask.roomId, source: 'traffic', inviter, created_at: now, expires_at: now + settings.invites.ttl }])
  ctx.metrics.invitesRecorded.inc({ source: 'module' })
  log.info({ invite: inv?.id, medium: c.medium, address: ctx.redactAddress(c.medium, c.address), room_id: ask.roomId, inviter }, 'invite recorded (synapse module)')
  return { allow: true, rule: 'recorded', detail: inv?.id ?? '', ...c }
}

/** Denied by a blacklist kind (lists, patterns, mail-server rules), not by the default. */
function blocked (d: Decision): boolean {
  return !d.allowed && d.rule !== 'default'
}

export function synapseModuleRoutes (admin: FastifyInstance, ctx: AppContext): void {
  admin.post(`${SYNAPSE_MODULE_PATH}/check_registration`, { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    if (!authorized(request, reply, ctx)) return reply
    const b = bodyObject(request)
    if (b === null) return fail(reply, 'BAD_JSON')
    const ask = readRegistration(b)
    if (typeof ask === 'string') return fail(reply, 'INVALID_PARAM', ask)
    const v = await judgeRegistration(ctx, ask)
    const result = v.allow ? 'allow' : 'deny'
    const medium = v.address === null ? 'none' : 'email'
    const clientIp = ask.requestInfo.at(-1)?.[1] ?? ''
    request.log.info({
      endpoint: 'synapse_module',
      decision: result,
      rule: v.rule,
      detail: v.detail,
      address: v.address === null ? null : ctx.redactAddress('email', v.address),
      username: ask.username === null ? null : ask.username.slice(0, 256),
      auth_provider_id: ask.authProvider?.slice(0, 256) ?? null,
      requests: ask.requestInfo.length,
      client_ip: clientIp.slice(0, 64)
    }, 'synapse module registration check')
    ctx.metrics.decisions.inc({ endpoint: 'synapse_module', medium, result, rule: v.rule })
    ctx.audit.record({ endpoint: 'synapse_module', medium, address: v.address, result, rule: v.rule, detail: v.detail, client_ip: clientIp })
    return { allow: v.allow, rule: v.rule, detail: v.detail }
  })

  admin.post(`${SYNAPSE_MODULE_PATH}/check_3pid_invite`, { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    if (!authorized(request, reply, ctx)) return reply
    const b = bodyObject(request)
    if (b === null) return fail(reply, 'BAD_JSON')
    const ask = readInvite(b)
    if (typeof ask === 'string') return fail(reply, 'INVALID_PARAM', ask)
    const v = await judgeInvite(ctx, ask, request.log)
    request.log.info({
      endpoint: 'synapse_module',
      decision: v.allow ? 'allow' : 'deny',
      rule: v.rule,
      detail: v.detail,
      inviter: ask.inviter,
      medium: v.medium,
      address: v.address === null || v.medium === 'none' ? null : ctx.redactAddress(v.medium, v.address),
      room_id: ask.roomId
    }, 'synapse module invite check')
    return { allow: v.allow, rule: v.rule, detail: v.detail }
  })
}
