import type { ServerResponse } from 'node:http'
import type { GateRequest } from './request.js'
import type { AppContext } from '../context.js'
import { requestArgs, stringArg } from '../synapse/twisted-args.js'
import { completesThreepidFreeFlow } from '../policy/flows.js'
import { StoreUnavailableError } from '../store/guarded.js'
import { sendError, sendTooLarge } from '../reply.js'
import { hasBody, readBody } from './body.js'
import { answerUpstreamFailure, forwardAsReceived } from './upstream.js'
import { probeSession } from './register.js'

// POST /_matrix/client/{r0,v3,unstable}/auth/{stage}/fallback/web: Synapse's fallback pages
// complete m.login.recaptcha, m.login.terms and m.login.registration_token outside /register
// (the client then only continues its session there). Under register.policy.require_3pid the
// stage is judged as at /register: refused when it would finish a flow without an email or
// phone stage, in a session in which no 3PID stage passed regguard (a probe of a session that
// is already complete would complete it: uia-sessions.ts records the target that opened it).
// A session regguard did not record is asked about at /register under the fallback's own
// prefix (only registration offers these stages); if the homeserver will not say, refused.

export async function uiaFallback (request: GateRequest, res: ServerResponse, stage: string, prefix: string, ctx: AppContext): Promise<void> {
  const { config } = ctx.runtime()
  if (!config.settings.register.policy.require_3pid) { await forwardAsReceived(ctx, request, res, hasBody(request.raw) ? request.raw : null); return }
  const body = await readBody(request.raw)
  if (!body.ok) {
    if (body.reason === 'too-large') sendTooLarge(request.raw, res)
    else res.destroy()
    return
  }
  // parse_string(request, "session"): the query, replaced name by name by a form body
  const { args } = requestArgs({ method: 'POST', target: request.target, rawHeaders: request.raw.rawHeaders, body: body.bytes })
  const session = stringArg(args, 'session')
  // no usable session: Synapse answers 400 and completes nothing
  if (session === undefined || session === null || session === '') { await forwardAsReceived(ctx, request, res, body.bytes); return }
  let target: string
  try {
    const rec = await ctx.store.uia.get(session, Date.now())
    if (rec !== null && rec.threepid !== null) { await forwardAsReceived(ctx, request, res, body.bytes); return }
    target = rec?.target ?? `/_matrix/client/${prefix}/register`
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err
    request.log.warn({ err, endpoint: 'auth/fallback', client_ip: request.ip }, 'UIA session lookup failed; refused with a temporary error')
    sendError(res, 'STORE_UNAVAILABLE')
    return
  }
  const state = await probeSession(ctx, request, session, target)
  if (state === 'failed' || state === 'refused') { answerUpstreamFailure(request, res, state === 'refused' ? 'refused' : 'unreachable'); return }
  if (state === 'unknown' || completesThreepidFreeFlow(state.flows, state.completed, stage)) {
    const why = `fallback stage ${stage.slice(0, 64)} would finish a flow without an email or phone stage`
    request.log.info({ endpoint: 'auth/fallback', decision: 'deny', why, client_ip: request.ip }, 'registration refused')
    ctx.metrics.decisions.inc({ endpoint: 'register', medium: 'none', result: 'deny', rule: 'require_3pid' })
    ctx.audit.record({ endpoint: 'register', medium: 'none', address: null, result: 'deny', rule: 'require_3pid', detail: why, client_ip: request.ip })
    sendError(res, 'THREEPID_REQUIRED')
    return
  }
  await forwardAsReceived(ctx, request, res, body.bytes)
}
