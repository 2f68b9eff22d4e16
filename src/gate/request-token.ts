import type { ServerResponse } from 'node:http'
import type { GateRequest } from './request.js'
import type { AppContext } from '../context.js'
import type { MatrixErrorName } from '../errors.js'
import { pendingInvite } from '../invites/pending.js'
import type { Decision } from '../policy/policy.js'
import { decideAddress, decideAtOnce } from '../decide.js'
import { parseJsonObject, parseTokenRequest } from '../synapse/token-request.js'
import type { UpstreamAnswer } from '../homeserver/forward.js'
import type { Medium } from '../synapse/canonical.js'
import type { TokenRoute } from './routes.js'
import { readBody } from './body.js'
import { sendError, sendTooLarge } from '../reply.js'
import { clientKey } from '../ratelimit/client-key.js'
import { checkLimit, checkLimitNow, type LimitResult } from '../ratelimit/limiter.js'
import { withDeadline } from '../deadline.js'
import { forwardAsReceived } from './upstream.js'
import { StoreUnavailableError } from '../store/guarded.js'
import { requesterAllowed } from './user-rules.js'
import { afterDenial } from '../approval/gate.js'

/** The homeserver's answer is read for its sid; a requestToken answer is tiny. */
const SID_ANSWER_LIMIT = 16 * 1024

const DENIED: Record<TokenRoute['endpoint'], Record<Medium, MatrixErrorName>> = {
  register: { email: 'EMAIL_DENIED_REGISTER', msisdn: 'MSISDN_DENIED_REGISTER' },
  account: { email: 'EMAIL_DENIED_ACCOUNT', msisdn: 'MSISDN_DENIED_ACCOUNT' }
}

/** The history's endpoint names, as constants: a flood of one decision compares them by identity */

/**
 * POST .../(register|account/3pid)/(email|msisdn)/requestToken: read the body as Synapse
 * would, decide, and either answer 403 or forward the exact bytes received.
 */
export function requestTokenHandler () {
  return async function requestToken (request: GateRequest, res: ServerResponse, route: TokenRoute, ctx: AppContext): Promise<void> {
    const { config } = ctx.runtime()
    const register = config.settings.register
    // only_check_at_registration: existing users may add any address; such sessions are
    // never recorded, so /register will not accept them
    if (route.endpoint === 'account' && register.policy.only_check_at_registration) {
      await forwardAsReceived(ctx, request, res, request.raw)
      return
    }
    if (!requesterAllowed(ctx, request, res, route.endpoint, route.medium)) return
    // counted before the body is even read: a flood costs the homeserver nothing
    if (register.rate_limit.enabled) {
      const within = withinLimit(ctx, request, res, 'ip', clientKey(request.ip, register.rate_limit.ipv6_prefix), register.rate_limit.per_ip)
      if (within !== true && !(await within)) return
    }
    const body = await readBody(request.raw)
    if (!body.ok) {
      if (body.reason === 'too-large') sendTooLarge(request.raw, res)
      else res.destroy()
      return
    }
    const parsed = parseTokenRequest(route.medium, body.bytes)
    if (!parsed.ok) { sendError(res, parsed.error, parsed.message); return }

    if (register.rate_limit.enabled) {
      const within = withinLimit(ctx, request, res, 'address', `${parsed.medium}:${parsed.address}`, register.rate_limit.per_address)
      if (within !== true && !(await within)) return
    }

    // an invite can only turn a denial into an allow: the store is asked only then (an
    // address the lists allow anyway is logged with their rule, not the invite's); DNS only
    // when a mail-server rule is reached
    let decision: Decision
    try {
      // the index answers "certainly none" synchronously: then the invite rule has nothing to ask
      const maybeInvited = config.policy.invite && ctx.inviteIndex.mayHave(parsed.medium, parsed.address)
      ;({ decision } = decideAtOnce(config.policy, parsed.medium, parsed.address, maybeInvited) ?? await decideAddress(config.policy, parsed.medium, parsed.address, {
        findInvite: maybeInvited ? () => pendingInvite(ctx.store, config.policy, parsed.medium, parsed.address, ctx.inviteIndex) : null,
        lookupMx: ctx.mx.lookupFor(request.ip, register.rate_limit.ipv6_prefix)
      }))
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err
      // neither answer is safe to guess: refused for now, nothing forwarded, the client retries
      request.log.warn({ err, endpoint: route.endpoint, medium: route.medium, client_ip: request.ip }, 'invite lookup failed; refused with a temporary error')
      sendError(res, 'STORE_UNAVAILABLE')
      return
    }
    // built only when written: the address hash is an HMAC per request, made once for the log
    // line and the history row
    let redacted: string | undefined
    if (request.logs('info')) {
      redacted = ctx.redactAddress(parsed.medium, parsed.address)
      request.log.info({
        endpoint: route.endpoint,
        medium: route.medium,
        decision: decision.allowed ? 'allow' : 'deny',
        rule: decision.rule,
        detail: decision.detail,
        client_ip: request.ip,
        address: redacted
      }, 'policy decision')
    }
    ctx.metrics.decisions.inc({ endpoint: route.endpoint, medium: route.medium, result: decision.allowed ? 'allow' : 'deny', rule: decision.rule })
    ctx.audit.record({ endpoint: `${route.endpoint}/requestToken`, medium: parsed.medium, address: parsed.address, redacted, result: decision.allowed ? 'allow' : 'deny', rule: decision.rule, detail: decision.detail, client_ip: request.ip })

    if (!decision.allowed && decision.temporary === true) { sendError(res, 'THREEPID_CHECK_UNAVAILABLE'); return }
    if (!decision.allowed) {
      const asked = await afterDenial(ctx, request, route.endpoint, parsed.medium, parsed.address, decision)
      if (asked !== null) { sendError(res, DENIED[route.endpoint][route.medium], asked); return }
      const custom = route.medium === 'email' ? config.settings.register.messages.email_denied : config.settings.register.messages.msisdn_denied
      sendError(res, DENIED[route.endpoint][route.medium], custom === '' ? null : custom)
      return
    }
    const outcome = await forwardAsReceived(ctx, request, res, body.bytes, SID_ANSWER_LIMIT)
    await recordSession(ctx, request, outcome.answer, parsed.clientSecret, parsed.medium, parsed.address, route.endpoint)
  }
}

/** True or false at once when the counter is in this process; else a promise of it. */
function withinLimit (ctx: AppContext, request: GateRequest, res: ServerResponse, limit: 'ip' | 'address', key: string, rule: { max: number, window: number }): boolean | Promise<boolean> {
  const now = Date.now()
  const counted = `${limit}:${key}`
  const bounds = { max: rule.max, windowMs: rule.window }
  const result = checkLimitNow(ctx.counter, counted, bounds, now)
  if (result !== null) return limitAnswered(ctx, request, res, limit, result)
  return (async () => {
    let result
    try {
      const check = checkLimit(ctx.counter, counted, bounds, now)
      result = ctx.counter.settlesInTime === true ? await check : await withDeadline(check, ctx.runtime().config.settings.register.rate_limit.timeout_ms, 'rate-limit counter')
    } catch (err) {
      // an unreachable counter must not close registration: the policy still decides
      request.log.error({ err }, 'rate-limit counter failed; request not limited')
      return true
    }
    return limitAnswered(ctx, request, res, limit, result)
  })()
}

/** Answers 429 when the limit is reached; true when the request goes on. */
function limitAnswered (ctx: AppContext, request: GateRequest, res: ServerResponse, limit: 'ip' | 'address', result: LimitResult): boolean {
  if (result.ok) return true
  ctx.metrics.rateLimited.inc({ limit })
  request.log.info({ limit, client_ip: request.ip, retry_after_ms: result.retryAfterMs }, 'rate limited')
  sendError(res, 'LIMIT_EXCEEDED', null, { retry_after_ms: result.retryAfterMs }, { 'Retry-After': String(Math.ceil(result.retryAfterMs / 1000)) })
  return false
}

/** Remembers a session the homeserver opened for an allowed address, for /register to check. */
async function recordSession (ctx: AppContext, request: GateRequest, answer: UpstreamAnswer | null, clientSecret: string, medium: Medium, address: string, endpoint: string): Promise<void> {
  if (answer === null || answer.status !== 200 || answer.body === null) return
  const parsed = parseJsonObject(answer.body)
  const sid = parsed.ok ? parsed.value.sid : undefined
  if (typeof sid !== 'string') return
  try {
    await ctx.store.sessions.put({ client_secret: clientSecret, sid, medium, address, endpoint, expires_at: Date.now() + ctx.runtime().config.settings.register.session_ttl })
  } catch (err) {
    // the client has its token; without the record /register will refuse it, which only denies more
    request.log.error({ err }, 'could not record a validation session')
  }
}
