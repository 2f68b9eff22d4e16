import type { AppContext } from '../context.js'
import type { GateRequest } from '../gate/request.js'
import { allRawHeaders } from '../synapse/twisted-args.js'
import { evaluate } from '../policy/policy.js'
import type { PassedThreepid } from '../store/store.js'

// The notice of an account the homeserver created through a /register regguard forwarded (200
// with a user_id), called where that answer is read (src/gate/uia-sessions.ts).

/** The rule that let the 3PID through, as the policy in force reads it now */
export function allowedBy (ctx: AppContext, passed: PassedThreepid | null): string {
  if (passed === null) return 'no 3PID stage (the homeserver asked for none)'
  if (passed.invite_id !== null) return `invite ${passed.invite_id}${passed.invite_source !== null ? ` (${passed.invite_source})` : ''}`
  const pass = evaluate(ctx.runtime().config.policy, passed.medium, passed.address, null, undefined)
  // a mail-server rule would need a lookup: the lists alone did not allow it
  if (!('decision' in pass)) return 'the mail-server whitelist'
  return pass.decision.allowed ? `${pass.decision.rule} ${pass.decision.detail}` : 'the policy at the time (it denies the address now)'
}

/**
 * Application services register their users with their own access token (bridges make many):
 * those are the operator's own doing, and not notified. A user's sign-up carries no token.
 */
function authenticated (request: GateRequest): boolean {
  return allRawHeaders(request.raw.rawHeaders, 'authorization').length > 0 || /[?&]access_token=/.test(request.target)
}

export function noticeRegistered (ctx: AppContext, request: GateRequest, userId: string, passed: PassedThreepid | null): void {
  if (ctx.notify === undefined || authenticated(request)) return
  ctx.notify.registered({
    user_id: userId,
    threepid: passed === null ? null : { medium: passed.medium, address: ctx.redactAddress(passed.medium, passed.address) },
    rule: allowedBy(ctx, passed)
  })
}
