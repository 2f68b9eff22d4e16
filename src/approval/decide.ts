import type { Settings } from '../config/settings.js'
import type { Store, Invite } from '../store/store.js'
import type { AccessRequest } from '../store/access-requests-store.js'
import { sendMail, smtpConfigured } from '../notify/mail.js'
import { errorText } from '../notify/queue.js'

// Deciding an access request, for the admin API and the CLI alike. Approving makes an invite for
// the address (source "approval", the approving operator as its inviter) and mails the applicant
// when notify.smtp is set; rejecting keeps the address from asking again for
// register.approval.reject_ttl.

export const MAX_REASON = 500

export type Outcome<T> = { ok: true, value: T } | { ok: false, why: 'unknown' | 'not_pending', state?: string }

export interface Approved {
  request: AccessRequest
  invite: Invite
  /** Whether the applicant was mailed */
  applicant_told: boolean
  /** Why not, when not */
  applicant_not_told_because?: string
}

/** The request's state as the operators see it: a pending one past its expiry is expired. */
export function shownState (r: AccessRequest, now = Date.now()): AccessRequest['state'] | 'expired' {
  return r.state === 'pending' && r.expires_at <= now ? 'expired' : r.state
}

function refusal (r: AccessRequest | null, now: number): Outcome<never> {
  return r === null ? { ok: false, why: 'unknown' } : { ok: false, why: 'not_pending', state: shownState(r, now) }
}

export function approvalMail (settings: Settings): { subject: string, text: string } {
  const a = settings.register.approval
  return { subject: a.approved_subject, text: a.link === '' ? `${a.approved_text}\n` : `${a.approved_text}\n\n${a.link}\n` }
}

export async function approveRequest (store: Store, settings: Settings, id: string, by: string | null, now = Date.now()): Promise<Outcome<Approved>> {
  const found = await store.accessRequests.get(id)
  if (found === null || shownState(found, now) !== 'pending') return refusal(found, now)
  // the invite first: of two operators approving at once, the one that loses the decision
  // revokes the invite it made, so the address has exactly one
  const invite = await store.invites.add({ medium: found.medium, address: found.address, room_id: null, source: 'approval', inviter: by, expires_at: now + settings.invites.ttl })
  const decided = await store.accessRequests.decide(id, { state: 'approved', by, reason: null, invite_id: invite.id, now })
  if (decided === null) {
    await store.invites.revoke(invite.id, now)
    return refusal(await store.accessRequests.get(id), now)
  }
  const told = await tellApplicant(settings, decided)
  await store.accessRequests.setApplicantTold(id, told.ok ? 'sent' : told.why)
  const request = { ...decided, applicant_told: told.ok ? 'sent' : told.why }
  return { ok: true, value: told.ok ? { request, invite, applicant_told: true } : { request, invite, applicant_told: false, applicant_not_told_because: told.why } }
}

export async function rejectRequest (store: Store, id: string, by: string | null, reason: string | null, now = Date.now()): Promise<Outcome<AccessRequest>> {
  const found = await store.accessRequests.get(id)
  if (found === null || shownState(found, now) !== 'pending') return refusal(found, now)
  const decided = await store.accessRequests.decide(id, { state: 'rejected', by, reason: reason === null ? null : reason.slice(0, MAX_REASON), invite_id: null, now })
  return decided === null ? refusal(await store.accessRequests.get(id), now) : { ok: true, value: decided }
}

async function tellApplicant (settings: Settings, r: AccessRequest): Promise<{ ok: true } | { ok: false, why: string }> {
  const smtp = settings.notify.smtp
  if (r.medium !== 'email') return { ok: false, why: 'not told: regguard mails only email addresses' }
  if (!smtpConfigured(smtp)) return { ok: false, why: 'not told: notify.smtp.host is not set' }
  try {
    await sendMail(smtp, { to: r.address, ...approvalMail(settings) })
    return { ok: true }
  } catch (err) {
    // the approval stands (the invite is made): the operator is told the mail failed, and why
    return { ok: false, why: `not told: the mail could not be sent (${errorText(err)})` }
  }
}
