import type { Logger } from '../log.js'
import type { HitCounter } from '../ratelimit/counter.js'
import { clientKey } from '../ratelimit/client-key.js'
import type { Settings } from '../config/settings.js'
import type { Medium } from '../synapse/canonical.js'
import type { Store } from '../store/store.js'
import type { AccessRequest } from '../store/access-requests-store.js'
import { StoreUnavailableError } from '../store/guarded.js'

// Asking to join: a registration requestToken that only the default rule denied records an
// access request (or adds to the address's pending one). Bounded: new requests per client IP
// and in all per hour are capped; a rejected address is not queued again for a while. Anything
// that stops the recording (a cap, the store or the counter away) leaves the ordinary denial.

/** The caps' window; the store's sweep keeps rate-limit rows at least twice as long (src/app.ts) */
export const APPROVAL_CAP_WINDOW_MS = 3_600_000
/** Longer User-Agents are cut: the row stays small whatever a client sends */
export const MAX_USER_AGENT = 256
const MAX_IP = 64

export type Asked =
  | { recorded: true, request: AccessRequest, created: boolean }
  | { recorded: false, why: 'rejected' | 'ip_cap' | 'total_cap' | 'unavailable' }

export interface AskDeps {
  store: Store
  counter: HitCounter
  settings: () => Settings
  log: Logger
}

export interface Asker { ip: string, userAgent: string }

export function firstUserAgent (rawHeaders: string[]): string {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === 'user-agent') return (rawHeaders[i + 1] as string).slice(0, MAX_USER_AGENT)
  }
  return ''
}

export async function askToJoin (deps: AskDeps, who: Asker, medium: Medium, address: string, now = Date.now()): Promise<Asked> {
  const settings = deps.settings()
  const approval = settings.register.approval
  const seen = { client_ip: who.ip.slice(0, MAX_IP), user_agent: who.userAgent.slice(0, MAX_USER_AGENT), now }
  try {
    const pending = await deps.store.accessRequests.touch(medium, address, seen)
    if (pending !== null) return { recorded: true, request: pending, created: false }
    if (await deps.store.accessRequests.rejectedSince(medium, address, now - approval.reject_ttl)) return { recorded: false, why: 'rejected' }
    // counted only for requests that would be new: an address asking again costs nothing
    if (approval.per_ip_per_hour > 0) {
      const n = await deps.counter.hit(`approval-ip:${clientKey(who.ip, settings.register.rate_limit.ipv6_prefix)}`, APPROVAL_CAP_WINDOW_MS, now)
      if (n > approval.per_ip_per_hour) return { recorded: false, why: 'ip_cap' }
    }
    if (approval.per_hour > 0) {
      const n = await deps.counter.hit('approval-all', APPROVAL_CAP_WINDOW_MS, now)
      if (n > approval.per_hour) return { recorded: false, why: 'total_cap' }
    }
    const opened = await deps.store.accessRequests.open({ medium, address, ...seen, expires_at: now + approval.ttl })
    return { recorded: true, request: opened.request, created: opened.created }
  } catch (err) {
    // the store or the counter away: nothing recorded, the ordinary denial stands
    if (!(err instanceof StoreUnavailableError)) deps.log.error({ err }, 'access request not recorded')
    else deps.log.warn({ err }, 'access request not recorded: store unavailable')
    return { recorded: false, why: 'unavailable' }
  }
}
