import type { Medium } from '../synapse/canonical.js'
import type { Policy } from '../policy/policy.js'
import type { Invite, Store } from '../store/store.js'

/**
 * The pending invite that the invite rule would use, or null (also when the rule is off).
 * A store that cannot answer throws (StoreUnavailableError, src/store/guarded.ts): the caller
 * refuses with a temporary error rather than guess, since "no invite" would deny someone
 * invited and "invited" would let anyone in. The proxy, /register and the threepid_check
 * answer all come through here, so they agree even then.
 */
export async function pendingInvite (store: Store, policy: Policy, medium: Medium, address: string): Promise<Invite | null> {
  if (!policy.invite) return null
  return await store.invites.findPending(medium, address, Date.now())
}
