import type { GateRequest } from './request.js'
import type { AppContext } from '../context.js'
import { parseJsonObject } from '../synapse/token-request.js'
import { hasThreepidStage, readCompleted, readFlows } from '../policy/flows.js'
import { isUserId } from '../invites/inviters.js'
import type { RegisterAuth } from '../synapse/register-body.js'
import type { PassedThreepid } from '../store/store.js'
import { noticeRegistered } from '../notify/registered.js'

// What regguard remembers of the /register user-interactive auth sessions it forwards
// (Store.uia) and of the accounts they created (Store.registrations): the 3PID stage it let
// through, the username it judged, the target that opened the session. The request that
// completes a session is judged against them, and an account's record says whether it got in
// through a learned invite.

/** A /register answer is read this far for its session, user ID and completed stages */
export const REGISTER_ANSWER_LIMIT = 64 * 1024
/** Longer values are not Synapse's (session ids are short; user IDs at most 255) and are not kept */
const MAX_SESSION = 255
const MAX_TARGET = 2048
const MAX_USERNAME = 255

/** The UIA session an answer belongs to: the request's own, or the one a 401 opened. */
export function answeredSession (auth: RegisterAuth | null, status: number, body: Buffer | null): string | null {
  if (auth?.session != null) return auth.session.length <= MAX_SESSION ? auth.session : null
  if (status !== 401 || body === null) return null
  const p = parseJsonObject(body)
  const s = p.ok ? p.value.session : undefined
  return typeof s === 'string' && s !== '' && s.length <= MAX_SESSION ? s : null
}

function offersThreepidFree (body: Buffer | null): boolean {
  if (body === null) return false
  const p = parseJsonObject(body)
  return p.ok && (readFlows(p.value) ?? []).some((f) => !hasThreepidStage(f))
}

function completedIn (body: Buffer | null): string[] {
  if (body === null) return []
  const p = parseJsonObject(body)
  return p.ok ? readCompleted(p.value) : []
}

export interface Judged {
  /** The 3PID stage of this request, passed by the policy */
  threepid: PassedThreepid | null
  /** The lower-cased localpart the username rules judged in this request */
  username: string | null
  /**
   * require_3pid: record a session the answer opens, with its target, even with nothing else
   * when it offers a flow without a 3PID stage (the fallback pages judge their stage against
   * it); a homeserver offering none (registrations_require_3pid) costs no row per session
   */
  track: boolean
}

/**
 * After the homeserver answered a /register regguard forwarded: remembers what passed in the
 * session, and the account when one was made. A failure to write only denies more later (a
 * completion without a recorded 3PID stage is refused; an account without a record teaches as
 * any other), so it is logged and the client keeps its answer.
 */
export async function rememberRegister (ctx: AppContext, request: GateRequest, auth: RegisterAuth | null, judged: Judged, status: number, body: Buffer | null): Promise<void> {
  const session = answeredSession(auth, status, body)
  const now = Date.now()
  // the stage passed when the homeserver says so: 200, or a 401 listing it as completed
  const stagePassed = judged.threepid !== null && auth?.type != null && (status === 200 || (status === 401 && completedIn(body).includes(auth.type)))
  const threepid = stagePassed ? judged.threepid : null
  const track = judged.track && auth?.session == null && offersThreepidFree(body)
  try {
    if (session !== null && (threepid !== null || judged.username !== null || track)) {
      const target = auth?.session == null && request.target.length <= MAX_TARGET ? request.target : undefined
      await ctx.store.uia.note(session, {
        ...(threepid !== null ? { threepid } : {}),
        ...(judged.username !== null && judged.username.length <= MAX_USERNAME ? { username: judged.username } : {}),
        ...(target !== undefined ? { target } : {})
      }, now + ctx.runtime().config.settings.register.session_ttl, now)
    }
    if (status !== 200 || body === null) return
    const answer = parseJsonObject(body)
    const userId = answer.ok ? answer.value.user_id : undefined
    if (typeof userId !== 'string' || !isUserId(userId)) return
    const passed = threepid ?? (session !== null ? (await ctx.store.uia.get(session, now))?.threepid ?? null : null)
    noticeRegistered(ctx, request, userId, passed)
    if (passed === null) return
    await ctx.store.registrations.put({ user_id: userId, ...passed, registered_at: now })
  } catch (err) {
    request.log.error({ err, session }, 'could not record a /register session or account')
  }
}
