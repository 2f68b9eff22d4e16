import type { Logger } from 'pino'
import type { Medium } from '../policy/canonical.js'
import type { Policy } from '../policy/policy.js'
import type { Invite, Store } from '../store/store.js'

/**
 * The pending invite that the invite rule would use, or null (also when the rule is off).
 * A store that cannot answer counts as "no invite": the lists still decide, so an outage
 * denies more, never less. The proxy and the threepid_check answer both come through here,
 * so they agree even then.
 */
export async function pendingInvite (store: Store, policy: Policy, medium: Medium, address: string, log: Pick<Logger, 'error'>): Promise<Invite | null> {
  if (!policy.invite) return null
  try {
    return await store.invites.findPending(medium, address, Date.now())
  } catch (err) {
    log.error({ err }, 'invite lookup failed; deciding without invites')
    return null
  }
}
