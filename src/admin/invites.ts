import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.js'
import { missingParamsMessage } from '../errors.js'
import { fail } from './scope.js'
import { checkAdminToken } from './token.js'
import { isUserId } from '../invites/inviters.js'
import { canonicalInviteAddress } from '../invites/learn.js'
import { parseJsonObject } from '../synapse/token-request.js'
import { InvalidPageToken } from '../store/page-token.js'

// The operators' invite API on the admin listener, behind admin.token:
//   POST   /_regguard/admin/v1/invites        {"medium","address","expires_in_ms"?,"inviter"?} -> 201 invite
//   GET    /_regguard/admin/v1/invites?medium=&address=&inviter=&limit=&from=&order=  -> {"invites", "next_from"?}
//          (order: oldest, the default, or newest)
//   DELETE /_regguard/admin/v1/invites/{id}   -> {"revoked": true}
//   POST   /_regguard/admin/v1/invites/revoke {"inviter"}  -> {"revoked": N} (every pending invite it taught)

export const ADMIN_PREFIX = '/_regguard/admin/v1'
const BODY_LIMIT = 64 * 1024
const DEFAULT_LIMIT = 100
const MAX_LIMIT = 1000

const INVITER_MESSAGE = 'inviter must be a user ID such as "@alice:example.org"'

/** A query parameter given once, as text; arrays (repeated keys) are refused as invalid. */
function single (query: unknown, key: string): string | undefined | null {
  const v = (query as Record<string, unknown>)[key]
  if (v === undefined) return undefined
  return typeof v === 'string' ? v : null
}

export function adminInviteRoutes (admin: FastifyInstance, ctx: AppContext): void {
  admin.register(async (scope) => {
    // bodies are parsed here, as Synapse parses them, so bad JSON gets M_NOT_JSON / M_BAD_JSON
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => { done(null, body) })

    scope.addHook('onRequest', async (request, reply) => {
      const refused = checkAdminToken(ctx.runtime().config.settings.admin.token, request.headers.authorization)
      if (refused !== null) return fail(reply, refused)
    })

    scope.post(`${ADMIN_PREFIX}/invites`, async (request, reply) => {
      const raw = request.body
      const parsed = parseJsonObject(Buffer.isBuffer(raw) ? raw : Buffer.alloc(0))
      if (!parsed.ok) return fail(reply, parsed.error)
      const { medium, address, expires_in_ms: expiresIn, inviter } = parsed.value
      const absent = ['medium', 'address'].filter((k) => parsed.value[k] === undefined)
      if (absent.length > 0) return fail(reply, 'MISSING_PARAM', missingParamsMessage(absent))
      if (medium !== 'email' && medium !== 'msisdn') return fail(reply, 'INVALID_PARAM', 'medium must be "email" or "msisdn"')
      const canonical = canonicalInviteAddress(medium, address)
      if (canonical === null) return fail(reply, 'INVALID_PARAM', `address is not a valid ${medium === 'email' ? 'email address' : 'phone number'}`)
      const { config } = ctx.runtime()
      let ttl = config.settings.invites.ttl
      if (expiresIn !== undefined) {
        if (typeof expiresIn !== 'number' || !Number.isSafeInteger(expiresIn) || expiresIn <= 0) return fail(reply, 'INVALID_PARAM', 'expires_in_ms must be a positive integer')
        ttl = expiresIn
      }
      // an operator may attribute an invite (e.g. made on a user's behalf), so that revoking all
      // of that user's invites revokes it too
      if (inviter !== undefined && (typeof inviter !== 'string' || !isUserId(inviter))) return fail(reply, 'INVALID_PARAM', INVITER_MESSAGE)
      const invite = await ctx.store.invites.add({ ...canonical, room_id: null, source: 'admin', inviter: inviter ?? null, expires_at: Date.now() + ttl })
      ctx.metrics.invitesRecorded.inc({ source: 'admin' })
      request.log.info({ invite: invite.id, medium: invite.medium, address: ctx.redactAddress(invite.medium, invite.address) }, 'invite added through the admin API')
      return reply.code(201).send(invite)
    })

    scope.get(`${ADMIN_PREFIX}/invites`, async (request, reply) => {
      const q = request.query
      const medium = single(q, 'medium')
      const address = single(q, 'address')
      const limitText = single(q, 'limit')
      const from = single(q, 'from')
      const inviter = single(q, 'inviter')
      const order = single(q, 'order')
      if (medium === null || address === null || limitText === null || from === null || inviter === null || order === null) return fail(reply, 'INVALID_PARAM', 'each parameter may be given once')
      if (order !== undefined && order !== 'oldest' && order !== 'newest') return fail(reply, 'INVALID_PARAM', 'order must be "oldest" or "newest"')
      if (medium !== undefined && medium !== 'email' && medium !== 'msisdn') return fail(reply, 'INVALID_PARAM', 'medium must be "email" or "msisdn"')
      let canonicalAddress: string | undefined
      if (address !== undefined) {
        if (medium === undefined) return fail(reply, 'MISSING_PARAM', missingParamsMessage(['medium']))
        const c = canonicalInviteAddress(medium, address)
        if (c === null) return fail(reply, 'INVALID_PARAM', `address is not a valid ${medium === 'email' ? 'email address' : 'phone number'}`)
        canonicalAddress = c.address
      }
      if (inviter !== undefined && !isUserId(inviter)) return fail(reply, 'INVALID_PARAM', INVITER_MESSAGE)
      let limit = DEFAULT_LIMIT
      if (limitText !== undefined) {
        limit = /^[0-9]{1,4}$/.test(limitText) ? Number(limitText) : 0
        if (limit < 1 || limit > MAX_LIMIT) return fail(reply, 'INVALID_PARAM', `limit must be between 1 and ${MAX_LIMIT}`)
      }
      try {
        const page = await ctx.store.invites.list({ medium, address: canonicalAddress, inviter, limit, from, newestFirst: order === 'newest' })
        return page.next === undefined ? { invites: page.invites } : { invites: page.invites, next_from: page.next }
      } catch (err) {
        if (err instanceof InvalidPageToken) return fail(reply, 'INVALID_PARAM', 'from is not a token this API gave out')
        throw err
      }
    })

    scope.post(`${ADMIN_PREFIX}/invites/revoke`, async (request, reply) => {
      const raw = request.body
      const parsed = parseJsonObject(Buffer.isBuffer(raw) ? raw : Buffer.alloc(0))
      if (!parsed.ok) return fail(reply, parsed.error)
      const { inviter } = parsed.value
      if (inviter === undefined) return fail(reply, 'MISSING_PARAM', missingParamsMessage(['inviter']))
      if (typeof inviter !== 'string' || !isUserId(inviter)) return fail(reply, 'INVALID_PARAM', INVITER_MESSAGE)
      const revoked = await ctx.store.invites.revokeByInviter(inviter)
      request.log.info({ inviter, revoked }, 'invites of an inviter revoked through the admin API')
      return { revoked }
    })

    scope.delete(`${ADMIN_PREFIX}/invites/:id`, async (request, reply) => {
      const { id } = request.params as { id: string }
      if (!await ctx.store.invites.revoke(id)) return fail(reply, 'NOT_FOUND', `no invite ${JSON.stringify(id)}`)
      request.log.info({ invite: id }, 'invite revoked through the admin API')
      return { revoked: true }
    })
  })
}
