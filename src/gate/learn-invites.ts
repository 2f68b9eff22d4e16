import { randomUUID } from 'node:crypto'
import { PassThrough, pipeline, type Readable } from 'node:stream'
import type { ServerResponse } from 'node:http'
import type { GateRequest } from './request.js'
import type { AppContext } from '../context.js'
import { accountStanding, WhoamiClient, type WhoamiArgs } from '../homeserver/users.js'
import { inviterMatcher, inviterPatterns } from '../invites/inviters.js'
import { learnFromCreateRoom, learnFromRoomInvite, type LearnedInvite } from '../invites/learn.js'
import { tokenDigest, txnKeys, type Requester } from '../invites/txn-keys.js'
import { accessToken } from '../synapse/access-token.js'
import { firstArg, requestArgs, type Args } from '../synapse/twisted-args.js'
import { rawPath, type InviteRoute } from './routes.js'
import { parseJsonObject } from '../synapse/token-request.js'
import { hasBody, readBody } from './body.js'
import { forwardAsReceived } from './upstream.js'
import { sendError } from '../reply.js'
import { StoreUnavailableError } from '../store/guarded.js'

// Room invites and createRoom: forwarded byte for byte, and a body of at most 64 KiB is kept,
// so that a 3PID invite the homeserver made can open registration for the invited address
// (register.policy.invite). Such a body is read whole before it takes one of the registration
// connections (so a slow sender holds none of them, as for requestToken); a larger one can
// teach nothing and streams as it arrives over the pass-through connections, so memory stays
// bounded however much is declared or however slowly it comes. Only invites the homeserver
// really made, by inviters the operator trusts, teach:
// - a PUT whose transaction key (path + requester) was seen before is answered from Synapse's
//   cache without its body being read: only the first request with a key teaches, and none
//   when two run at once (they share one execution, maybe the other's);
// - the inviter is the user the homeserver names for the request's own token (whoami), and
//   must match invites.learn.inviters; with homeserver.admin_token, not deactivated or
//   shadow-banned (a shadow-banned user's invite is answered 200 and invites nobody);
// - an account that registered through regguard with a learned invite teaches none
//   (invites.learn.invitees_may_invite: false), so invites do not compound;
// - a PUT whose requester whoami cannot name is answered 503 and not forwarded: its transaction
//   key cannot be claimed whole, and forwarding it would let a replay of it teach later;
// - at most invites.learn.per_inviter per window, and no createRoom with more than
//   invites.learn.max_per_request entries.
// Whatever is not learned is still forwarded unchanged, logged and counted.

export const INVITE_COPY_LIMIT = 64 * 1024
// createRoom answers {"room_id": ...}; anything much larger is not an answer we can use
const ANSWER_LIMIT = 64 * 1024
const LOOKUP_TIMEOUT_MS = 10_000

export type NotLearned =
  | 'too-large' | 'too-many' | 'replay' | 'concurrent' | 'no-token' | 'whoami-failed' | 'form-body'
  | 'inviter-not-trusted' | 'inviter-deactivated' | 'inviter-shadow-banned' | 'admin-api-failed'
  | 'per-inviter-limit' | 'store-error' | 'inviter-invited'

interface Identity { tokenHash: string, who: Requester | null }

/** The requester's token and masquerading arguments as Synapse reads them, or why there is none. */
function identify (rawHeaders: readonly string[], args: Args): { token: string, whoArgs: WhoamiArgs } | null {
  const tok = accessToken(rawHeaders, args)
  if (!tok.ok) return null
  const whoArgs: WhoamiArgs = {}
  const userId = firstArg(args, 'user_id')
  const deviceId = firstArg(args, 'org.matrix.msc3202.device_id')
  if (userId !== undefined) whoArgs.user_id = userId
  if (deviceId !== undefined) whoArgs.device_id = deviceId
  return { token: tok.token, whoArgs }
}

export function learnInvitesHandler (appCtx: AppContext) {
  const whoami = new WhoamiClient(appCtx.pool, () => Math.min(appCtx.runtime().config.settings.homeserver.timeout_ms, LOOKUP_TIMEOUT_MS))

  return async function learnInvites (request: GateRequest, res: ServerResponse, route: InviteRoute, ctx: AppContext): Promise<void> {
    const req = request.raw
    const { config } = ctx.runtime()
    const settings = config.settings
    const learn = settings.invites.learn
    const collect = route.action === 'createRoom' ? ANSWER_LIMIT : undefined
    if (!hasBody(req)) { await forwardAsReceived(ctx, request, res, null, collect); return }
    // invites.learn.source module: the Synapse module reports invites (src/admin/synapse-module.ts)
    if (!learn.enabled || learn.source === 'module') { await forwardAsReceived(ctx, request, res, req); return }

    const method = req.method ?? 'POST'
    const target = request.target
    const path = rawPath(target)
    const declared = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : undefined
    let copy: Buffer | null = null
    let upstreamBody: Buffer | Readable = req
    let passThrough = true
    if (declared === undefined || declared <= INVITE_COPY_LIMIT) {
      const read = await readBody(req, INVITE_COPY_LIMIT)
      if (!read.ok && read.reason === 'aborted') { res.destroy(); return }
      if (read.ok) {
        copy = read.bytes
        upstreamBody = copy
        passThrough = false
      } else {
        // chunked past the limit: what was read, then the rest as it arrives
        const rest = new PassThrough()
        rest.write(read.prefix)
        pipeline(req, rest, () => {})
        upstreamBody = rest
      }
    }
    const log = (reason: NotLearned, extra: Record<string, unknown> = {}, count = 1): void => {
      ctx.metrics.invitesNotLearned.inc({ reason }, count)
      request.log.info({ reason, ...extra }, 'invite not learned')
    }

    // Who is asking. A PUT has to know before it is forwarded (its transaction key names the
    // requester, and must be claimed before the homeserver sees the request); a POST (no
    // transaction cache) asks while it is forwarded. A form POST's body can carry the token.
    const isPut = method === 'PUT'
    const formBody = requestArgs({ method, target, rawHeaders: req.rawHeaders, body: null }).formUnknown
    const identity = async (args: Args): Promise<Identity | null> => {
      const id = identify(req.rawHeaders, args)
      if (id === null) return null
      return { tokenHash: tokenDigest(id.token), who: await whoami.whoami(id.token, id.whoArgs) }
    }
    let identityP: Promise<Identity | null | 'form-body'>
    if (formBody) {
      identityP = copy === null ? Promise.resolve('form-body') : identity(requestArgs({ method, target, rawHeaders: req.rawHeaders, body: copy }).args)
    } else {
      identityP = identity(requestArgs({ method, target, rawHeaders: req.rawHeaders, body: null }).args)
    }
    identityP.catch(() => {})

    let keys: string[] = []
    const claim = randomUUID()
    let first = false
    let claimFailed = false
    if (isPut) {
      const id = await identityP
      if (id !== null && id !== 'form-body' && id.who === null) {
        ctx.metrics.invitesNotLearned.inc({ reason: 'whoami-failed' })
        request.log.warn({ reason: 'whoami-failed', method }, 'PUT refused: the homeserver did not say who sent it')
        // a body not read whole (over the copy limit) is not read to its end just to keep the connection
        const unread = copy === null
        sendError(res, 'STORE_UNAVAILABLE', 'The homeserver could not say who sent this request; please try again', undefined, unread ? { Connection: 'close' } : undefined)
        if (unread) res.once('finish', () => req.socket.destroy())
        return
      }
      if (id !== null && id !== 'form-body') {
        keys = txnKeys(path, id.tokenHash, id.who)
        try {
          first = await ctx.store.txns.claim(keys, claim, Date.now(), learn.txn_ttl)
        } catch (err) {
          claimFailed = true
          request.log.error({ err }, 'could not record a transaction key')
        }
      }
    }

    const outcome = await forwardAsReceived(ctx, request, res, upstreamBody, collect, passThrough)
    const status = outcome.answer?.status

    let clean = true
    if (isPut && keys.length > 0 && !claimFailed) {
      try {
        // Synapse forgets a key whose execution failed; a retry executes (and may teach)
        if (status !== undefined && status >= 400) await ctx.store.txns.release(keys, claim)
        else clean = await ctx.store.txns.finish(keys, claim)
      } catch (err) {
        clean = false
        request.log.error({ err }, 'could not update a transaction key')
      }
    }
    if (status !== 200 || outcome.answer === null) return
    const body = copy
    if (body === null) { log('too-large'); return }
    let learned: LearnedInvite[]
    if (route.action === 'roomInvite') {
      learned = learnFromRoomInvite(body, route.rawRoomId ?? '')
    } else {
      learned = learnFromCreateRoom(body, outcome.answer.body)
      const parsed = parseJsonObject(body)
      const entries = parsed.ok && Array.isArray(parsed.value.invite_3pid) ? parsed.value.invite_3pid.length : 0
      // the limit bounds what one request can open; learning "the first N" would let the
      // sender choose which N, so a request over it teaches none
      if (learned.length > 0 && entries > learn.max_per_request) { log('too-many', { entries }, learned.length); return }
    }
    if (learned.length === 0) return

    const addresses = (l: LearnedInvite[]): string[] => l.map((i) => ctx.redactAddress(i.medium, i.address))
    const refuse = (reason: NotLearned, inviter: string | null, which = learned): void =>
      log(reason, { inviter, addresses: addresses(which), room_id: which[0]?.room_id ?? null }, which.length)

    const id = await identityP
    if (id === 'form-body') { refuse('form-body', null); return }
    if (id === null) { refuse('no-token', null); return }
    if (isPut && claimFailed) { refuse('store-error', id.who?.user_id ?? null); return }
    if (isPut && !first) { refuse('replay', id.who?.user_id ?? null); return }
    if (isPut && !clean) { refuse('concurrent', id.who?.user_id ?? null); return }
    if (id.who === null) { refuse('whoami-failed', null); return }
    const inviter = id.who.user_id
    if (!inviterMatcher(inviterPatterns(learn.inviters, settings.homeserver.server_name))(inviter)) { refuse('inviter-not-trusted', inviter); return }
    if (!learn.invitees_may_invite) {
      let registered
      try {
        registered = await ctx.store.registrations.get(inviter)
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err
        request.log.error({ err }, 'could not read the inviter\'s registration record')
        refuse('store-error', inviter)
        return
      }
      if (registered !== null && registered.invite_source === 'traffic') { refuse('inviter-invited', inviter); return }
    }
    const adminToken = settings.homeserver.admin_token
    if (adminToken !== '') {
      const standing = await accountStanding(ctx.pool, adminToken, inviter, Math.min(settings.homeserver.timeout_ms, LOOKUP_TIMEOUT_MS))
      if (standing !== 'ok') {
        refuse(standing === 'deactivated' ? 'inviter-deactivated' : standing === 'shadow-banned' ? 'inviter-shadow-banned' : 'admin-api-failed', inviter)
        return
      }
    }

    const now = Date.now()
    try {
      // sliding window over the invites this inviter taught (revoked ones count: revoking
      // must not make room to learn again); concurrent requests may overshoot by one batch
      const taught = learn.per_inviter.max === 0 ? 0 : await ctx.store.invites.countByInviter(inviter, now - learn.per_inviter.window)
      const room = Math.max(0, learn.per_inviter.max - taught)
      const over = learned.slice(room)
      if (over.length > 0) refuse('per-inviter-limit', inviter, over)
      const kept = learned.slice(0, room)
      if (kept.length === 0) return
      const added = await ctx.store.invites.addMany(kept.map((l) => ({ ...l, source: 'traffic' as const, inviter, created_at: now, expires_at: now + settings.invites.ttl })))
      ctx.metrics.invitesRecorded.inc({ source: 'traffic' }, added.length)
      for (const inv of added) {
        request.log.info({ invite: inv.id, medium: inv.medium, address: ctx.redactAddress(inv.medium, inv.address), room_id: inv.room_id, inviter }, 'invite recorded')
      }
    } catch (err) {
      // the client already has its answer; the invite is lost, which only denies more
      request.log.error({ err }, 'could not record an invite')
    }
  }
}
