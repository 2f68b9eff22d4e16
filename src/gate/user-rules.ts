import type { ServerResponse } from 'node:http'
import type { GateRequest } from './request.js'
import type { AppContext } from '../context.js'
import type { AvailableRoute } from './routes.js'
import { firstArg, requestArgs } from '../synapse/twisted-args.js'
import type { Policy } from '../policy/policy.js'
import { decideRequester, hasRequesterRules, userAgentsOf } from '../policy/requester.js'
import { parseJsonObject } from '../synapse/token-request.js'
import { decideUsername, hasUsernameRules, registeredLocalpart, type UsernameDecision } from '../policy/username.js'
import { hasBody } from './body.js'
import { sendError } from '../reply.js'
import { forwardAsReceived } from './upstream.js'

// The MAS-style gates (register.policy.requester, register.policy.username) as the routes
// apply them: each answers the client itself and returns false when it refused, so a refused
// request never reaches the homeserver.

export type GatedEndpoint = 'register' | 'account' | 'available'

/**
 * Requester rules, first thing on every policed endpoint (before rate limits and before the
 * body is read: the client IP and headers are all they need).
 */
export function requesterAllowed (ctx: AppContext, request: GateRequest, res: ServerResponse, endpoint: GatedEndpoint, medium: string): boolean {
  const rules = ctx.runtime().config.policy.requester
  if (!hasRequesterRules(rules)) return true
  const d = decideRequester(rules, request.ip ?? null, userAgentsOf(request.raw.rawHeaders))
  if (d.allowed) return true
  request.log.info({ endpoint, decision: 'deny', rule: 'requester', detail: d.detail, client_ip: request.ip }, 'requester refused')
  ctx.metrics.decisions.inc({ endpoint, medium, result: 'deny', rule: 'requester' })
  sendError(res, 'REQUESTER_DENIED')
  return false
}

const APPSERVICE_REGISTRATION = 'm.login.application_service'

/**
 * What the username rules say about one POST /register body (a JSON object), as Synapse's
 * RegisterRestServlet reads it; null when they have nothing to say.
 *
 * - `username`, when a string, is judged lower-cased, in every request that carries one: the
 *   UIA session keeps the parameters of the last request that had any, so any of them may be
 *   the one the account is created with. A non-string Synapse refuses ("Invalid username").
 * - Without one, Synapse registers a generated numeric localpart: a request that starts a UIA
 *   session stores its parameters as they are, and a later one replaces them unless it carries
 *   none (Synapse drops `auth` and `password`, and `initial_device_display_name` without a
 *   password, before deciding that). Only a continuing request with no parameters left keeps
 *   the session's stored ones, which were judged when they came.
 * - Application-service registrations (top-level `type`, with the AS token) and guest
 *   registrations (`kind=guest`, which ignores `username`) are not user sign-ups: left alone.
 */
export function registerUsernameVerdict (policy: Policy, body: Record<string, unknown>, src: { method: string, target: string, rawHeaders: readonly string[], bytes: Buffer }): UsernameDecision | null {
  const rules = policy.username
  if (!hasUsernameRules(rules)) return null
  if (body.type === APPSERVICE_REGISTRATION) return null
  if (Object.hasOwn(body, 'username')) {
    const u = body.username
    return typeof u === 'string' ? decideUsername(rules, registeredLocalpart(u)) : null
  }
  const { args } = requestArgs({ method: src.method, target: src.target, rawHeaders: src.rawHeaders, body: src.bytes })
  if (firstArg(args, 'kind') === 'guest') return null
  const noPassword = !Object.hasOwn(body, 'password') || body.password === null
  const params = Object.keys(body).filter((k) => k !== 'auth' && k !== 'password' && !(noPassword && k === 'initial_device_display_name'))
  if (params.length === 0 && continuesSession(body.auth)) return null
  return decideUsername(rules, null)
}

/** Does check_ui_auth see a session id (`if not sid`: Python truthiness of auth["session"])? */
function continuesSession (auth: unknown): boolean {
  if (auth === null || typeof auth !== 'object' || Array.isArray(auth) || !Object.hasOwn(auth, 'session')) return false
  const sid = (auth as Record<string, unknown>).session
  if (sid === null || sid === undefined || sid === false || sid === 0 || sid === '') return false
  if (Array.isArray(sid)) return sid.length > 0
  if (typeof sid === 'object') return Object.keys(sid).length > 0
  return true
}

/** Username rules at POST /register; false when the request was refused (and answered). */
export function registerUsernameAllowed (ctx: AppContext, request: GateRequest, res: ServerResponse, bytes: Buffer): boolean {
  const { policy } = ctx.runtime().config
  if (!hasUsernameRules(policy.username)) return true
  const parsed = parseJsonObject(bytes)
  if (!parsed.ok) return true // Synapse refuses it too, before any username is read
  const d = registerUsernameVerdict(policy, parsed.value, { method: request.raw.method ?? 'POST', target: request.target, rawHeaders: request.raw.rawHeaders, bytes })
  if (d === null || d.allowed) return true
  refuseUsername(ctx, request, res, 'register', d)
  return false
}

/**
 * The username a UIA session keeps (recorded when it was judged), judged again when a request
 * continues the session without one of its own; false when refused (and answered).
 */
export function sessionUsernameAllowed (ctx: AppContext, request: GateRequest, res: ServerResponse, localpart: string): boolean {
  const rules = ctx.runtime().config.policy.username
  if (!hasUsernameRules(rules)) return true
  const d = decideUsername(rules, localpart)
  if (d.allowed) return true
  refuseUsername(ctx, request, res, 'register', { ...d, detail: `${d.detail} (the session's username, judged again)` })
  return false
}

function refuseUsername (ctx: AppContext, request: GateRequest, res: ServerResponse, endpoint: GatedEndpoint, d: UsernameDecision): void {
  request.log.info({ endpoint, decision: 'deny', rule: d.rule, detail: d.detail, client_ip: request.ip }, 'username refused')
  ctx.metrics.decisions.inc({ endpoint, medium: 'none', result: 'deny', rule: 'username' })
  sendError(res, d.missing === true ? 'USERNAME_REQUIRED' : 'USERNAME_DENIED')
}

/**
 * GET (or HEAD) /register/available: a name the username rules refuse is answered here, as
 * Synapse answers a name it cannot register; anything else is forwarded as received. Synapse
 * reads `username` with parse_string (the first value of the Twisted arguments) and does not
 * lower-case it there; the rules judge the lower-cased name, the one /register would create.
 */
export function availableHandler () {
  return async function available (request: GateRequest, res: ServerResponse, _route: AvailableRoute, ctx: AppContext): Promise<void> {
    if (!requesterAllowed(ctx, request, res, 'available', 'none')) return
    const { policy } = ctx.runtime().config
    if (hasUsernameRules(policy.username)) {
      const { args } = requestArgs({ method: request.raw.method ?? 'GET', target: request.target, rawHeaders: request.raw.rawHeaders, body: null })
      const username = firstArg(args, 'username')
      if (username !== undefined) {
        const d = decideUsername(policy.username, registeredLocalpart(username))
        if (!d.allowed) { refuseUsername(ctx, request, res, 'available', d); return }
      }
    }
    await forwardAsReceived(ctx, request, res, hasBody(request.raw) ? request.raw : null)
  }
}
