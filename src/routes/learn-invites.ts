import { PassThrough, pipeline, type Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import { learnFromCreateRoom, learnFromRoomInvite, type LearnedInvite } from '../invites/learn.js'
import type { InviteRoute } from '../proxy/classify.js'
import { hasBody, readBody } from './body.js'
import { forwardAsReceived } from './upstream.js'

// Room invites and createRoom: forwarded byte for byte like any request, but a copy of the
// body is read first, so that a 3PID invite the homeserver accepts (200) is remembered and can
// open registration for the invited address (register.policy.invite).

export const INVITE_BODY_LIMIT = 1024 * 1024
// createRoom answers {"room_id": ...}; anything much larger is not an answer we can use
const ANSWER_LIMIT = 64 * 1024

export function learnInvitesHandler (ctx: AppContext, routeOf: (request: FastifyRequest) => InviteRoute) {
  return async function learnInvites (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    reply.hijack()
    const route = routeOf(request)
    const res = reply.raw
    if (!hasBody(request.raw)) { await forwardAsReceived(ctx, request, res, null); return }

    const read = await readBody(request.raw, INVITE_BODY_LIMIT)
    if (!read.ok && read.reason === 'aborted') { res.destroy(); return }
    let body: Buffer | Readable
    if (read.ok) {
      body = read.bytes
    } else {
      // too large to be an invite we would record: the prefix, then the rest as it arrives
      const rest = new PassThrough()
      rest.write(read.prefix)
      pipeline(request.raw, rest, () => {})
      body = rest
    }
    const outcome = await forwardAsReceived(ctx, request, res, body, route.action === 'createRoom' ? ANSWER_LIMIT : undefined)
    if (!read.ok || outcome.answer?.status !== 200) return

    const learned: LearnedInvite[] = route.action === 'roomInvite'
      ? learnFromRoomInvite(read.bytes, route.rawRoomId ?? '')
      : learnFromCreateRoom(read.bytes, outcome.answer.body)
    if (learned.length === 0) return
    const { config } = ctx.runtime()
    const now = Date.now()
    try {
      const added = await ctx.store.invites.addMany(learned.map((l) => ({ ...l, source: 'traffic' as const, created_at: now, expires_at: now + config.settings.invites.ttl })))
      ctx.metrics.invitesRecorded.inc({ source: 'traffic' }, added.length)
      for (const inv of added) {
        request.log.info({ invite: inv.id, medium: inv.medium, address: ctx.redactAddress(inv.medium, inv.address), room_id: inv.room_id }, 'invite recorded')
      }
    } catch (err) {
      // the client already has its answer; the invite is lost, which only denies more
      request.log.error({ err }, 'could not record an invite')
    }
  }
}
