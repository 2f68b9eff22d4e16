import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import type { Medium } from '../policy/canonical.js'
import { completesThreepidFreeFlow, keepThreepidFlows, readCompleted, readFlows, servesOnlyThreepidFreeFlows, type Flow } from '../policy/flows.js'
import { decideAddress } from '../dns/decide.js'
import type { PendingInvite } from '../policy/policy.js'
import { APPSERVICE_STAGE, parseRegisterRequest, THREEPID_STAGE, type RegisterAuth } from '../policy/register-auth.js'
import { parseJsonObject } from '../policy/token-request.js'
import { exchange, sendExchanged, type Exchanged } from '../proxy/exchange.js'
import { readBody } from './body.js'
import { sendError, sendTooLarge } from './respond.js'
import { forwardAsReceived, rawTarget, upstreamHeadersFor } from './upstream.js'

// POST /_matrix/client/(r0|v3|unstable)/register: the last door to an account. A 3PID stage is
// accepted only with a validation session regguard itself let through a registration-policed
// requestToken and whose address passes the policy now; with register.policy.require_3pid no
// flow without a 3PID stage can be finished through regguard.

export interface RecordedSession {
  medium: Medium
  address: string
  /** which requestToken endpoint created it */
  endpoint: 'register' | 'account'
}

export interface RegisterDeps {
  findSession: (clientSecret: string, sid: string) => Promise<RecordedSession | null>
  findInvite: (medium: Medium, address: string) => Promise<PendingInvite | null>
}

type Verdict = { ok: true } | { ok: false, why: string, temporary?: true }

async function checkThreepidStage (ctx: AppContext, deps: RegisterDeps, auth: RegisterAuth, stageMedium: Medium): Promise<Verdict> {
  if (auth.malformedCreds || auth.creds.length === 0) return { ok: false, why: 'no usable threepid_creds' }
  const { config } = ctx.runtime()
  for (const creds of auth.creds) {
    const session = await deps.findSession(creds.clientSecret, creds.sid)
    if (session === null) return { ok: false, why: 'validation session not created through regguard' }
    if (session.medium !== stageMedium) return { ok: false, why: 'validation session is for another medium' }
    if (session.endpoint === 'account' && config.settings.register.policy.only_check_at_registration) {
      return { ok: false, why: 'validation session from /account/3pid, which is not policed' }
    }
    const { decision } = await decideAddress(config.policy, session.medium, session.address, {
      findInvite: () => deps.findInvite(session.medium, session.address),
      lookupMx: ctx.mx.lookup
    })
    if (!decision.allowed) return { ok: false, why: `address no longer allowed (${decision.rule} ${decision.detail})`, ...(decision.temporary === true ? { temporary: true as const } : {}) }
  }
  return { ok: true }
}

/** Asks the homeserver where this UIA session stands, without submitting a stage. */
async function probeSession (ctx: AppContext, request: FastifyRequest, session: string | null): Promise<{ flows: Flow[], completed: string[] } | 'unknown' | 'failed'> {
  const body = Buffer.from(JSON.stringify(session === null ? {} : { auth: { session } }))
  const headers = upstreamHeadersFor(ctx, request, (name) => name !== 'content-length' && name !== 'content-type')
  headers.push('Content-Type', 'application/json', 'Content-Length', String(body.length))
  const r = await exchange(ctx.pool, { method: 'POST', path: rawTarget(request), headers, body })
  if (!r.ok) return 'failed'
  if (r.answer.status !== 401) return 'unknown'
  const parsed = parseJsonObject(r.answer.body)
  const flows = parsed.ok ? readFlows(parsed.value) : null
  if (!parsed.ok || flows === null) return 'unknown'
  return { flows, completed: readCompleted(parsed.value) }
}

function sendFiltered (res: FastifyReply['raw'], answer: Exchanged): void {
  const parsed = parseJsonObject(answer.body)
  if (!parsed.ok || readFlows(parsed.value) === null) { sendExchanged(res, answer); return }
  const { body, left } = keepThreepidFlows(parsed.value)
  if (left === 0) { sendError(res, 'NO_USABLE_FLOW'); return }
  sendExchanged(res, answer, Buffer.from(JSON.stringify(body)))
}

/**
 * Does the query say kind=guest as Synapse reads it (Twisted: split on "&" and ";", "+" a space,
 * percent-decoded, so "kind=gues%74" is a guest)? Any such value counts, whichever comes first.
 */
export function asksForGuest (target: string): boolean {
  const q = target.indexOf('?')
  if (q === -1) return false
  const unquote = (s: string): string => s.replace(/\+/g, ' ').replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))
  return target.slice(q + 1).split(/[&;]/).some((pair) => {
    const eq = pair.indexOf('=')
    return eq !== -1 && unquote(pair.slice(0, eq)) === 'kind' && unquote(pair.slice(eq + 1)) === 'guest'
  })
}

export function registerHandler (ctx: AppContext, deps: RegisterDeps) {
  return async function register (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    reply.hijack()
    const res = reply.raw
    const body = await readBody(request.raw)
    if (!body.ok) {
      if (body.reason === 'too-large') sendTooLarge(request.raw, res)
      else res.destroy()
      return
    }
    const { config } = ctx.runtime()
    const require3pid = config.settings.register.policy.require_3pid
    const parsed = parseRegisterRequest(body.bytes)
    // Not a JSON object: Synapse refuses it too, with its own error
    if (!parsed.ok) { await forwardAsReceived(ctx, request, res, body.bytes); return }
    const auth = parsed.auth
    const refuse = (name: 'SESSION_DENIED' | 'THREEPID_REQUIRED', why: string): void => {
      request.log.info({ endpoint: 'register', decision: 'deny', stage: auth.type, why, client_ip: request.ip }, 'registration refused')
      ctx.metrics.decisions.inc({ endpoint: 'register', medium: (auth.type !== null ? THREEPID_STAGE[auth.type] : undefined) ?? 'none', result: 'deny', rule: name === 'SESSION_DENIED' ? 'session' : 'require_3pid' })
      sendError(res, name)
    }

    if (require3pid && asksForGuest(rawTarget(request))) { refuse('THREEPID_REQUIRED', 'guest registration'); return }

    const stageMedium = auth.type !== null ? THREEPID_STAGE[auth.type] : undefined
    if (stageMedium !== undefined) {
      const verdict = await checkThreepidStage(ctx, deps, auth, stageMedium)
      if (!verdict.ok && verdict.temporary === true) { sendError(res, 'THREEPID_CHECK_UNAVAILABLE'); return }
      if (!verdict.ok) { refuse('SESSION_DENIED', verdict.why); return }
    } else if (require3pid && auth.type !== null && auth.type !== APPSERVICE_STAGE) {
      const state = await probeSession(ctx, request, auth.session)
      if (state === 'failed') { sendError(res, 'UPSTREAM_UNREACHABLE'); return }
      if (state === 'unknown' || completesThreepidFreeFlow(state.flows, state.completed, auth.type) || servesOnlyThreepidFreeFlows(state.flows, state.completed, auth.type)) {
        refuse('THREEPID_REQUIRED', `stage ${auth.type} would finish a flow without an email or phone stage`)
        return
      }
    }

    if (!require3pid) { await forwardAsReceived(ctx, request, res, body.bytes); return }
    // the answer may announce flows, which must be filtered before the client sees them
    const r = await exchange(ctx.pool, { method: 'POST', path: rawTarget(request), headers: upstreamHeadersFor(ctx, request), body: body.bytes })
    if (!r.ok) { sendError(res, r.failure === 'timeout' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNREACHABLE'); return }
    if (r.answer.status === 401) sendFiltered(res, r.answer)
    else sendExchanged(res, r.answer)
  }
}
