import type { Medium } from './synapse/canonical.js'
import { evaluate, type Decision, type MxFacts, type PendingInvite, type Policy } from './policy/policy.js'
import type { MxLookup } from './dns/mx.js'

// The decision with its I/O, in the policy's order: the pure first pass; the invite (asked only
// when the lists did not allow, as before); the DNS lookup only when a mail-server rule is
// reached; the pure second pass.

export interface DecideDeps {
  /** null: invites are not consulted (the threepid_check answer asks for them itself) */
  findInvite: (() => Promise<PendingInvite | null>) | null
  /** null: no lookup (policy check --no-dns); the mail-server rules are skipped */
  lookupMx: MxLookup | null
  /**
   * Ask for the invite before the lists, as the order reads, so the rule named is the invite
   * whenever there is one (policy check, the console's tester). The proxy asks only when the
   * lists do not allow: the same answer, one store lookup fewer per allowed address.
   */
  inviteFirst?: boolean
}

export interface Decided {
  decision: Decision
  /** What DNS said, when it was asked (or why not) */
  mx?: MxFacts
}

/**
 * The same decision when it needs no I/O: the lists decide, and either allow or no invite can
 * change their denial (`inviteRule` false: none is pending, the index says). Null: ask
 * decideAddress.
 */
export function decideAtOnce (policy: Policy, medium: Medium, address: string, inviteRule: boolean): Decided | null {
  const first = evaluate(policy, medium, address, null, undefined)
  if (!('decision' in first)) return null
  return first.decision.allowed || !(policy.invite && inviteRule) ? { decision: first.decision } : null
}

export async function decideAddress (policy: Policy, medium: Medium, address: string, deps: DecideDeps): Promise<Decided> {
  if (deps.inviteFirst === true && policy.invite && deps.findInvite !== null) {
    const invite = await deps.findInvite()
    if (invite !== null) return { decision: { allowed: true, rule: 'invite', detail: invite.id } }
    return await decideAddress(policy, medium, address, { ...deps, findInvite: null, inviteFirst: false })
  }
  const first = evaluate(policy, medium, address, null, undefined)
  if ('decision' in first && first.decision.allowed) return { decision: first.decision }
  if (policy.invite && deps.findInvite !== null) {
    const invite = await deps.findInvite()
    if (invite !== null) return { decision: { allowed: true, rule: 'invite', detail: invite.id } }
  }
  if ('decision' in first) return { decision: first.decision }
  const mx: MxFacts = deps.lookupMx === null ? { kind: 'skipped', why: 'DNS lookups off' } : await deps.lookupMx(first.needsMx)
  const second = evaluate(policy, medium, address, null, mx)
  // with the facts given every rule can decide
  return { decision: (second as { decision: Decision }).decision, mx }
}
