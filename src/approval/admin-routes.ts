import type { FastifyInstance, FastifyReply } from 'fastify'
import type { AppContext } from '../context.js'
import { boundedInt, fail, single } from '../admin/scope.js'
import { checkAdminToken } from '../admin/token.js'
import { isUserId } from '../invites/inviters.js'
import { parseJsonObject } from '../synapse/token-request.js'
import { smtpConfigured } from '../notify/mail.js'
import type { AccessRequest, AccessRequestState } from '../store/access-requests-store.js'
import { approveRequest, MAX_REASON, rejectRequest, shownState, type Outcome } from './decide.js'

// The operators' access-request API on the admin listener, behind admin.token:
//   GET  /_regguard/admin/v1/access-requests?state=&limit=&offset=  -> {"access_requests", "applicant_mail"}
//   POST /_regguard/admin/v1/access-requests/{id}/approve {"by"?}    -> {"access_request", "invite", "applicant_told", "applicant_not_told_because"?}
//   POST /_regguard/admin/v1/access-requests/{id}/reject  {"reason"?, "by"?} -> {"access_request"}
// "by": the operator's user ID, recorded as the decider (and, approving, as the invite's inviter).

const PREFIX = '/_regguard/admin/v1/access-requests'
const BODY_LIMIT = 16 * 1024
const DEFAULT_LIMIT = 100
const MAX_LIMIT = 1000
const MAX_OFFSET = 1_000_000
const STATES = new Set(['pending', 'approved', 'rejected'])

/** A request as the API shows it: the state a pending one past its expiry has is "expired". */
export function shown (r: AccessRequest, now = Date.now()): AccessRequest & { status: string } {
  return { ...r, status: shownState(r, now) }
}

function body (raw: unknown): ReturnType<typeof parseJsonObject> {
  const bytes = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0)
  // no body at all reads as {}: both fields are optional
  return bytes.length === 0 ? { ok: true, value: {} } : parseJsonObject(bytes)
}

function decider (reply: FastifyReply, value: Record<string, unknown>): string | null | FastifyReply {
  const by = value.by
  if (by === undefined || by === null) return null
  if (typeof by !== 'string' || !isUserId(by)) return fail(reply, 'INVALID_PARAM', 'by must be a user ID such as "@alice:example.org"')
  return by
}

function refused (reply: FastifyReply, id: string, outcome: Extract<Outcome<unknown>, { ok: false }>): FastifyReply {
  return outcome.why === 'unknown'
    ? fail(reply, 'NOT_FOUND', `no access request ${JSON.stringify(id)}`)
    : fail(reply, 'NOT_FOUND', `access request ${id} is not pending (it is ${outcome.state ?? 'decided'})`)
}

export function accessRequestRoutes (admin: FastifyInstance, ctx: AppContext): void {
  admin.register(async (scope) => {
    // bodies are parsed here, as the invite API parses them (M_NOT_JSON / M_BAD_JSON)
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, b, done) => { done(null, b) })
    scope.addHook('onRequest', async (request, reply) => {
      const refusal = checkAdminToken(ctx.runtime().config.settings.admin.token, request.headers.authorization)
      if (refusal !== null) return fail(reply, refusal)
    })

    scope.get(PREFIX, async (request, reply) => {
      const state = single(request.query, 'state')
      const limitText = single(request.query, 'limit')
      const offsetText = single(request.query, 'offset')
      if (state === null || limitText === null || offsetText === null) return fail(reply, 'INVALID_PARAM', 'each parameter may be given once')
      if (state !== undefined && !STATES.has(state)) return fail(reply, 'INVALID_PARAM', 'state must be "pending", "approved" or "rejected"')
      const limit = limitText === undefined ? DEFAULT_LIMIT : boundedInt(limitText, 1, MAX_LIMIT)
      if (limit === null) return fail(reply, 'INVALID_PARAM', `limit must be between 1 and ${MAX_LIMIT}`)
      const offset = offsetText === undefined ? 0 : boundedInt(offsetText, 0, MAX_OFFSET)
      if (offset === null) return fail(reply, 'INVALID_PARAM', `offset must be between 0 and ${MAX_OFFSET}`)
      const rows = await ctx.store.accessRequests.list({ ...(state !== undefined ? { state: state as AccessRequestState } : {}), limit, offset })
      const now = Date.now()
      // the console says ahead of an approval whether the applicant will be mailed
      return { access_requests: rows.map((r) => shown(r, now)), applicant_mail: smtpConfigured(ctx.runtime().config.settings.notify.smtp) }
    })

    scope.post(`${PREFIX}/:id/approve`, async (request, reply) => {
      const { id } = request.params as { id: string }
      const parsed = body(request.body)
      if (!parsed.ok) return fail(reply, parsed.error)
      const by = decider(reply, parsed.value)
      if (typeof by === 'object' && by !== null) return by
      const outcome = await approveRequest(ctx.store, ctx.runtime().config.settings, id, by)
      if (!outcome.ok) return refused(reply, id, outcome)
      const { request: r, ...rest } = outcome.value
      ctx.metrics.invitesRecorded.inc({ source: 'approval' })
      request.log.info({ access_request: id, invite: rest.invite.id, by, applicant_told: rest.applicant_told, medium: r.medium, address: ctx.redactAddress(r.medium, r.address) }, 'access request approved')
      return { access_request: shown(r), ...rest }
    })

    scope.post(`${PREFIX}/:id/reject`, async (request, reply) => {
      const { id } = request.params as { id: string }
      const parsed = body(request.body)
      if (!parsed.ok) return fail(reply, parsed.error)
      const by = decider(reply, parsed.value)
      if (typeof by === 'object' && by !== null) return by
      const reason = parsed.value.reason
      if (reason !== undefined && reason !== null && (typeof reason !== 'string' || reason.length > MAX_REASON)) return fail(reply, 'INVALID_PARAM', `reason must be a text of at most ${MAX_REASON} characters`)
      const outcome = await rejectRequest(ctx.store, id, by, typeof reason === 'string' && reason !== '' ? reason : null)
      if (!outcome.ok) return refused(reply, id, outcome)
      request.log.info({ access_request: id, by, medium: outcome.value.medium, address: ctx.redactAddress(outcome.value.medium, outcome.value.address) }, 'access request rejected')
      return { access_request: shown(outcome.value) }
    })
  })
}
