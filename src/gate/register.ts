import type { ServerResponse } from 'node:http'
import type { GateRequest } from './request.js'
import type { AppContext } from '../context.js'
import type { RegisterRoute } from './routes.js'
import { requestArgs, stringArg } from '../synapse/twisted-args.js'
import type { Medium } from '../synapse/canonical.js'
import { completesThreepidFreeFlow, hasThreepidStage, keepThreepidFlows, readCompleted, readFlows, servesOnlyThreepidFreeFlows, type Flow } from '../policy/flows.js'
import { decideAddress } from '../decide.js'
import type { PendingInvite } from '../policy/policy.js'
import type { InviteSource, PassedThreepid, UiaRecord } from '../store/store.js'
import { hasUsernameRules, registeredLocalpart } from '../policy/username.js'
import { REGISTER_ANSWER_LIMIT, rememberRegister } from './uia-sessions.js'
import { APPSERVICE_STAGE, parseRegisterRequest, THREEPID_STAGE, type RegisterAuth } from '../synapse/register-body.js'
import { parseJsonObject } from '../synapse/token-request.js'
import { exchange, sendExchanged, type Exchanged } from '../homeserver/exchange.js'
import { StoreUnavailableError } from '../store/guarded.js'
import { readBody } from './body.js'
import { sendError, sendTooLarge } from '../reply.js'
import { answerUpstreamFailure, forwardAsReceived, upstreamHeadersFor } from './upstream.js'
import { registerUsernameAllowed, requesterAllowed, sessionUsernameAllowed } from './user-rules.js'
import { countRefusal, refusalLimited } from './refusal-limit.js'

// POST /_matrix/client/(r0|v3|unstable)/register: the last door to an account. A 3PID stage is
// accepted only with a validation session regguard itself let through a registration-policed
// requestToken and whose address passes the policy now; with register.policy.require_3pid no
// flow without a 3PID stage can be finished through regguard. What passed in each UIA session
// (the 3PID stage, the username) is remembered (uia-sessions.ts): a request that only continues
// a session is judged against it, and the account made is recorded with the invite that let it in.

export interface RecordedSession {
  medium: Medium
  address: string
  /** which requestToken endpoint created it */
  endpoint: 'register' | 'account'
}

export interface RegisterDeps {
  findSession: (clientSecret: string, sid: string) => Promise<RecordedSession | null>
  /** The invite as the store has it: its source tells a learned one ('traffic') from the others */
  findInvite: (medium: Medium, address: string) => Promise<(PendingInvite & { source?: InviteSource }) | null>
}

type Verdict = { ok: true, passed: PassedThreepid } | { ok: false, why: string, temporary?: true }

async function checkThreepidStage (ctx: AppContext, deps: RegisterDeps, auth: RegisterAuth, stageMedium: Medium): Promise<Verdict> {
  if (auth.malformedCreds || auth.creds.length === 0) return { ok: false, why: 'no usable threepid_creds' }
  const { config } = ctx.runtime()
  let passed: PassedThreepid | null = null
  for (const creds of auth.creds) {
    const session = await deps.findSession(creds.clientSecret, creds.sid)
    if (session === null) return { ok: false, why: 'validation session not created through regguard' }
    if (session.medium !== stageMedium) return { ok: false, why: 'validation session is for another medium' }
    if (session.endpoint === 'account' && config.settings.register.policy.only_check_at_registration) {
      return { ok: false, why: 'validation session from /account/3pid, which is not policed' }
    }
    let invite: (PendingInvite & { source?: InviteSource }) | null = null
    const { decision } = await decideAddress(config.policy, session.medium, session.address, {
      findInvite: async () => (invite = await deps.findInvite(session.medium, session.address)),
      lookupMx: ctx.mx.lookup
    })
    if (!decision.allowed) return { ok: false, why: `address no longer allowed (${decision.rule} ${decision.detail})`, ...(decision.temporary === true ? { temporary: true as const } : {}) }
    // the first spelling is threepid_creds when present, the one Synapse reads
    const byInvite = decision.rule === 'invite'
    passed ??= { medium: session.medium, address: session.address, invite_id: byInvite ? decision.detail : null, invite_source: byInvite ? ((invite as { source?: InviteSource } | null)?.source ?? null) : null }
  }
  return passed === null ? { ok: false, why: 'no usable threepid_creds' } : { ok: true, passed }
}

/**
 * Asks the homeserver where this UIA session stands, without submitting a stage, at `path` (the
 * target the session was opened with: Synapse refuses a session asked about elsewhere). Without
 * a session it only opens a new one, which completes nothing: the flows on offer.
 */
export async function probeSession (ctx: AppContext, request: GateRequest, session: string | null, path = request.target): Promise<{ flows: Flow[], completed: string[] } | 'unknown' | 'failed' | 'refused'> {
  const body = Buffer.from(JSON.stringify(session === null ? {} : { auth: { session } }))
  const headers = upstreamHeadersFor(ctx, request, (name) => name !== 'content-length' && name !== 'content-type')
  headers.push('Content-Type', 'application/json', 'Content-Length', String(body.length))
  const r = await exchange(ctx.pool, { method: 'POST', path, headers, body })
  if (!r.ok) return r.failure === 'refused' ? 'refused' : 'failed'
  if (r.answer.status !== 401) return 'unknown'
  const parsed = parseJsonObject(r.answer.body)
  const flows = parsed.ok ? readFlows(parsed.value) : null
  if (!parsed.ok || flows === null) return 'unknown'
  return { flows, completed: readCompleted(parsed.value) }
}

function sendFiltered (res: ServerResponse, answer: Exchanged): void {
  const parsed = parseJsonObject(answer.body)
  if (!parsed.ok || readFlows(parsed.value) === null) { sendExchanged(res, answer); return }
  const { body, left } = keepThreepidFlows(parsed.value)
  if (left === 0) { sendError(res, 'NO_USABLE_FLOW'); return }
  sendExchanged(res, answer, Buffer.from(JSON.stringify(body)))
}

function stageMediumOf (auth: RegisterAuth): Medium | undefined {
  return auth.type === null ? undefined : THREEPID_STAGE.get(auth.type)
}

/**
 * Does Synapse register a guest? parse_string(request, "kind") takes the first value of `kind`
 * in request.args as Twisted builds them: the query, then a form POST body replacing it (a body
 * can be JSON and a form at once). A first value that is not ASCII gets a 400 from Synapse.
 */
export function asksForGuest (request: GateRequest, body: Buffer): boolean {
  const { args } = requestArgs({ method: request.raw.method ?? 'POST', target: request.target, rawHeaders: request.raw.rawHeaders, body })
  return stringArg(args, 'kind') === 'guest'
}

export function registerHandler (deps: RegisterDeps) {
  return async function register (request: GateRequest, res: ServerResponse, _route: RegisterRoute, ctx: AppContext): Promise<void> {
    if (!requesterAllowed(ctx, request, res, 'register', 'none')) return
    if (refusalLimited(ctx, request, res)) return
    const body = await readBody(request.raw)
    if (!body.ok) {
      if (body.reason === 'too-large') sendTooLarge(request.raw, res)
      else res.destroy()
      return
    }
    const { config } = ctx.runtime()
    const require3pid = config.settings.register.policy.require_3pid
    const parsed = parseRegisterRequest(body.bytes)
    const auth: RegisterAuth | null = parsed.ok ? parsed.auth : null
    const refuse = (name: 'SESSION_DENIED' | 'THREEPID_REQUIRED', why: string): void => {
      const medium = (auth !== null ? stageMediumOf(auth) : undefined) ?? 'none'
      const rule = name === 'SESSION_DENIED' ? 'session' : 'require_3pid'
      request.log.info({ endpoint: 'register', decision: 'deny', stage: auth?.type ?? null, why, client_ip: request.ip }, 'registration refused')
      ctx.metrics.decisions.inc({ endpoint: 'register', medium, result: 'deny', rule })
      ctx.audit.record({ endpoint: 'register', medium, address: null, result: 'deny', rule, detail: why, client_ip: request.ip })
      countRefusal(ctx, request)
      sendError(res, name)
    }

    // before the JSON is judged: should Synapse read a body regguard's parser refused, the
    // guest it asks for must still not reach it
    if (require3pid && asksForGuest(request, body.bytes)) { refuse('THREEPID_REQUIRED', 'guest registration'); return }
    // Not a JSON object: Synapse refuses it too, with its own error
    if (auth === null) { await forwardAsReceived(ctx, request, res, body.bytes); return }
    if (!registerUsernameAllowed(ctx, request, res, body.bytes)) return

    const fields = parseJsonObject(body.bytes)
    const own = fields.ok ? fields.value : {}
    const userSignUp = own.type !== APPSERVICE_STAGE
    const usernameRules = hasUsernameRules(config.policy.username) && userSignUp
    const judged = { threepid: null as PassedThreepid | null, username: usernameRules && typeof own.username === 'string' ? registeredLocalpart(own.username) : null, track: require3pid }
    // what regguard saw pass earlier in the session this request continues (read once, if needed)
    let recorded: UiaRecord | null | undefined
    const sessionRecord = async (session: string): Promise<UiaRecord | null> => (recorded ??= await ctx.store.uia.get(session, Date.now()))
    try {
      // no username of its own: Synapse keeps the session's, which was judged when it came and
      // is judged again now (a reload may have banned it since)
      if (usernameRules && auth.session !== null && !Object.hasOwn(own, 'username')) {
        const kept = (await sessionRecord(auth.session))?.username ?? null
        if (kept !== null && !sessionUsernameAllowed(ctx, request, res, kept)) return
      }
      // only continues the session: it submits no stage, so it can finish only a flow whose
      // stages were all done elsewhere (the fallback pages) or earlier; without an email or phone
      // stage regguard let through in it, refused whenever the homeserver offers a flow without one
      if (require3pid && auth.type === null && auth.session !== null && (await sessionRecord(auth.session))?.threepid == null) {
        const offer = await probeSession(ctx, request, null)
        if (offer === 'failed' || offer === 'refused') { answerUpstreamFailure(request, res, offer === 'refused' ? 'refused' : 'unreachable'); return }
        if (offer === 'unknown' || offer.flows.some((f) => !hasThreepidStage(f))) {
          refuse('THREEPID_REQUIRED', 'continues a session in which no email or phone stage passed regguard')
          return
        }
      }
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err
      request.log.warn({ err, endpoint: 'register', client_ip: request.ip }, 'UIA session lookup failed; refused with a temporary error')
      sendError(res, 'STORE_UNAVAILABLE')
      return
    }

    const stageMedium = stageMediumOf(auth)
    if (stageMedium !== undefined) {
      let verdict: Verdict
      try {
        verdict = await checkThreepidStage(ctx, deps, auth, stageMedium)
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err
        // the session cannot be checked: refused for now, nothing forwarded, the client retries
        request.log.warn({ err, endpoint: 'register', stage: auth.type, client_ip: request.ip }, 'validation session lookup failed; refused with a temporary error')
        sendError(res, 'STORE_UNAVAILABLE')
        return
      }
      if (!verdict.ok && verdict.temporary === true) { sendError(res, 'THREEPID_CHECK_UNAVAILABLE'); return }
      if (!verdict.ok) { refuse('SESSION_DENIED', verdict.why); return }
      judged.threepid = verdict.passed
    } else if (require3pid && auth.type !== null && auth.type !== APPSERVICE_STAGE) {
      const state = await probeSession(ctx, request, auth.session)
      if (state === 'failed' || state === 'refused') { answerUpstreamFailure(request, res, state === 'refused' ? 'refused' : 'unreachable'); return }
      if (state === 'unknown' || completesThreepidFreeFlow(state.flows, state.completed, auth.type) || servesOnlyThreepidFreeFlows(state.flows, state.completed, auth.type)) {
        refuse('THREEPID_REQUIRED', `stage ${auth.type} would finish a flow without an email or phone stage`)
        return
      }
    }

    if (!require3pid) {
      const outcome = await forwardAsReceived(ctx, request, res, body.bytes, REGISTER_ANSWER_LIMIT)
      if (outcome.answer !== null) await rememberRegister(ctx, request, auth, judged, outcome.answer.status, outcome.answer.body)
      return
    }
    // the answer may announce flows, which must be filtered before the client sees them
    const r = await exchange(ctx.pool, { method: 'POST', path: request.target, headers: upstreamHeadersFor(ctx, request), body: body.bytes })
    if (!r.ok) { answerUpstreamFailure(request, res, r.failure, r.refusal); return }
    // before the client has the answer: its next request in the session is judged against this
    await rememberRegister(ctx, request, auth, judged, r.answer.status, r.answer.body)
    if (r.answer.status === 401) sendFiltered(res, r.answer)
    else sendExchanged(res, r.answer)
  }
}
