import type { Medium } from '../synapse/canonical.js'
import type { Policy } from '../policy/policy.js'
import type { Invite, Store } from '../store/store.js'
import type { InviteIndex } from './index.js'

/**
 * The pending invite that the invite rule would use, or null (also when the rule is off).
 * A store that cannot answer throws (StoreUnavailableError, src/store/guarded.ts): the caller
 * refuses with a temporary error rather than guess, since "no invite" would deny someone
 * invited and "invited" would let anyone in. The proxy, /register and the threepid_check
 * answer all come through here, so they agree even then. The index answers most "no invite"
 * without the store; whatever it is unsure of, the store decides.
 */
export async function pendingInvite (store: Store, policy: Policy, medium: Medium, address: string, index: Pick<InviteIndex, 'mayHave'>): Promise<Invite | null> {
  if (!policy.invite) return null
  if (!index.mayHave(medium, address)) return null
  return await store.invites.findPending(medium, address, Date.now())
}
