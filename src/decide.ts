import type { Medium } from './synapse/canonical.js'
import { evaluate, inviteWouldDecide, type Decision, type MxFacts, type PendingInvite, type Policy } from './policy/policy.js'
import type { MxLookup } from './dns/mx.js'

// The decision with its I/O, in the policy's order: the pure first pass; the invite, asked only
// when the lists did not allow and the order lets an invite decide there (never after a
// blacklist kind denied, unless invite_overrides_blacklist); the DNS lookup only when a
// mail-server rule is reached; the pure second pass.

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
 * change their denial (`inviteRule` false: none is pending, the index says; or a blacklist kind
 * denied first). Null: ask decideAddress.
 */
export function decideAtOnce (policy: Policy, medium: Medium, address: string, inviteRule: boolean): Decided | null {
  const first = evaluate(policy, medium, address, null, undefined)
  if (!('decision' in first)) return null
  if (first.decision.allowed || !inviteRule || !inviteWouldDecide(policy, medium, address, undefined)) return { decision: first.decision }
  return null
}

export async function decideAddress (policy: Policy, medium: Medium, address: string, deps: DecideDeps): Promise<Decided> {
  const find = policy.invite ? deps.findInvite : null
  // undefined: not asked (yet); asked only where the order lets an invite decide, and at most once
  let invite: PendingInvite | null | undefined = find !== null && deps.inviteFirst === true ? await find() : undefined
  let mx: MxFacts | undefined
  for (;;) {
    const pass = evaluate(policy, medium, address, invite ?? null, mx)
    const undecided = 'needsMx' in pass || !pass.decision.allowed
    if (find !== null && invite === undefined && undecided && inviteWouldDecide(policy, medium, address, mx)) {
      invite = await find()
      continue
    }
    if ('decision' in pass) return mx === undefined ? { decision: pass.decision } : { decision: pass.decision, mx }
    // with the facts given every rule can decide: the next pass returns
    mx = deps.lookupMx === null ? { kind: 'skipped', why: 'DNS lookups off' } : await deps.lookupMx(pass.needsMx)
  }
}
