import type { ServerResponse } from 'node:http'
import type { GateRequest } from './request.js'
import type { AppContext } from '../context.js'
import type { Medium } from '../synapse/canonical.js'
import { decideAddress } from '../decide.js'
import { parseJsonObject } from '../synapse/token-request.js'
import { StoreUnavailableError } from '../store/guarded.js'
import { sendError, sendTooLarge } from '../reply.js'
import { readBody } from './body.js'
import { forwardAsReceived } from './upstream.js'
import type { RegisterDeps } from './register.js'

// POST /account/3pid/add and the legacy POST /account/3pid: a validation session bound to an
// existing account. A session requested straight at the identity server or the homeserver (a
// phone-validation identity server serves anyone) would bind an address the policy denies; so,
// as at /register, every credentials spelling Synapse can read must name a session regguard
// recorded from a policed requestToken, whose address passes the policy now. With
// register.policy.only_check_at_registration the account endpoints are not policed at all.

export interface Creds { sid: string, clientSecret: string }

/** Python's truthiness, which `body.get("threePidCreds") or body.get("three_pid_creds")` applies */
function truthy (v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false
  if (Array.isArray(v)) return v.length > 0
  if (typeof v === 'object') return Object.keys(v).length > 0
  return true
}

function pair (sid: unknown, clientSecret: unknown): Creds | null {
  return typeof sid === 'string' && typeof clientSecret === 'string' ? { sid, clientSecret } : null
}

/**
 * The credentials a body names, as Synapse 1.67 reads them: /account/3pid/add takes `sid` and
 * `client_secret` at the top; /account/3pid takes `threePidCreds`, or when that is falsy
 * `three_pid_creds` (each a {sid, client_secret} object). Every spelling that could be the one
 * read is returned; null when one of them is not such a pair (refused: only a pair binds).
 */
export function credsOf (body: Record<string, unknown>, spelling: 'add' | 'legacy'): Creds[] | null {
  if (spelling === 'add') {
    const c = pair(body.sid, body.client_secret)
    return c === null ? null : [c]
  }
  const out: Creds[] = []
  for (const key of ['threePidCreds', 'three_pid_creds']) {
    const v = body[key]
    // a falsy value binds nothing: Synapse reads the other spelling, or fails
    if (!Object.hasOwn(body, key) || !truthy(v)) continue
    if (typeof v !== 'object' || Array.isArray(v)) return null
    const c = pair((v as Record<string, unknown>).sid, (v as Record<string, unknown>).client_secret)
    if (c === null) return null
    out.push(c)
  }
  return out
}

type Verdict = { ok: true } | { ok: false, why: string, temporary?: true, medium?: Medium }

async function judge (ctx: AppContext, deps: RegisterDeps, creds: Creds[]): Promise<Verdict> {
  const { config } = ctx.runtime()
  for (const c of creds) {
    const session = await deps.findSession(c.clientSecret, c.sid)
    if (session === null) return { ok: false, why: 'validation session not created through regguard' }
    const { decision } = await decideAddress(config.policy, session.medium, session.address, {
      findInvite: () => deps.findInvite(session.medium, session.address),
      lookupMx: ctx.mx.lookup
    })
    if (!decision.allowed) return { ok: false, medium: session.medium, why: `address not allowed (${decision.rule} ${decision.detail})`, ...(decision.temporary === true ? { temporary: true as const } : {}) }
  }
  return { ok: true }
}

const DENIED_MESSAGE = 'This email address or phone number was not validated through this server\'s policy'

export async function threepidAdd (request: GateRequest, res: ServerResponse, spelling: 'add' | 'legacy', ctx: AppContext, deps: RegisterDeps): Promise<void> {
  const { config } = ctx.runtime()
  if (config.settings.register.policy.only_check_at_registration) { await forwardAsReceived(ctx, request, res, request.raw); return }
  const body = await readBody(request.raw)
  if (!body.ok) {
    if (body.reason === 'too-large') sendTooLarge(request.raw, res)
    else res.destroy()
    return
  }
  const parsed = parseJsonObject(body.bytes)
  // not a JSON object: Synapse refuses it before it binds anything
  if (!parsed.ok) { await forwardAsReceived(ctx, request, res, body.bytes); return }
  const creds = credsOf(parsed.value, spelling)
  // none at all: Synapse answers "Missing param" and binds nothing
  if (creds !== null && creds.length === 0) { await forwardAsReceived(ctx, request, res, body.bytes); return }
  let verdict: Verdict
  try {
    verdict = creds === null ? { ok: false, why: 'credentials that are not a sid and client_secret pair' } : await judge(ctx, deps, creds)
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err
    request.log.warn({ err, endpoint: 'account/3pid', client_ip: request.ip }, 'validation session lookup failed; refused with a temporary error')
    sendError(res, 'STORE_UNAVAILABLE')
    return
  }
  if (!verdict.ok && verdict.temporary === true) { sendError(res, 'THREEPID_CHECK_UNAVAILABLE'); return }
  if (!verdict.ok) {
    const medium = verdict.medium ?? 'none'
    request.log.info({ endpoint: 'account/3pid', spelling, decision: 'deny', why: verdict.why, client_ip: request.ip }, '3PID binding refused')
    ctx.metrics.decisions.inc({ endpoint: 'account_3pid', medium, result: 'deny', rule: 'session' })
    ctx.audit.record({ endpoint: 'account/3pid', medium, address: null, result: 'deny', rule: 'session', detail: verdict.why, client_ip: request.ip })
    sendError(res, 'SESSION_DENIED', DENIED_MESSAGE)
    return
  }
  await forwardAsReceived(ctx, request, res, body.bytes)
}
