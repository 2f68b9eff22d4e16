import { DomainSet } from './domain-set.js'
import type { Decision } from './policy.js'

// The mail-server rules (register.policy.threepid.email.mx), as pure functions of what DNS said
// about the address's domain. The lookup itself is in src/dns/mx.ts.

export interface MxPolicy {
  require: boolean
  blacklist: DomainSet
  whitelist: DomainSet
  onError: 'deny' | 'allow'
}

/** What DNS said about a domain's mail, or why it was not asked. */
export type MxFacts =
  /** mail goes to these hosts (canonical names); implicit: no MX, the domain's own A/AAAA (RFC 5321 5.1) */
  | { kind: 'hosts', hosts: string[], implicit: boolean }
  /** the domain cannot receive mail: null MX, no such domain, or no MX and no address */
  | { kind: 'no-mail', why: string }
  /** the resolver gave no usable answer (timeout, SERVFAIL, refused) */
  | { kind: 'failed', why: string }
  /** the caller chose not to look (policy check --no-dns) */
  | { kind: 'skipped', why: string }

export function emptyMxPolicy (): MxPolicy {
  return { require: false, blacklist: new DomainSet(), whitelist: new DomainSet(), onError: 'deny' }
}

/** Do the deny-side mail-server rules need a lookup? */
export function mxBlacklistActive (mx: MxPolicy): boolean {
  return mx.require || mx.blacklist.size > 0
}

export function mxWhitelistActive (mx: MxPolicy): boolean {
  return mx.whitelist.size > 0
}

/**
 * A failed or skipped lookup, where one was needed: on_error deny denies (temporarily: the
 * client may try again), anything else lets the other rules decide.
 */
function unusable (mx: MxPolicy, facts: MxFacts): Decision | 'skip' {
  if (facts.kind === 'failed' && mx.onError === 'deny') return { allowed: false, rule: 'mx_error', detail: `mail servers could not be looked up: ${facts.why}`, temporary: true }
  return 'skip'
}

/** The deny side: require, then the blacklist of mail-server hosts (any host matching denies). */
export function mxDeny (mx: MxPolicy, domain: string, facts: MxFacts): Decision | undefined {
  if (facts.kind === 'failed' || facts.kind === 'skipped') {
    const u = unusable(mx, facts)
    return u === 'skip' ? undefined : u
  }
  if (facts.kind === 'no-mail') {
    return mx.require ? { allowed: false, rule: 'mx_require', detail: `${domain} cannot receive mail: ${facts.why}` } : undefined
  }
  for (const host of facts.hosts) {
    const m = mx.blacklist.match(host)
    if (m !== undefined) return { allowed: false, rule: 'blacklist', detail: `mx ${host} (${m.entry})` }
  }
  return undefined
}

/**
 * The allow side: every mail-server host must be on the mx whitelist (one foreign host could
 * receive the validation mail for the domain).
 */
export function mxAllow (mx: MxPolicy, facts: MxFacts): Decision | undefined {
  if (facts.kind === 'failed' || facts.kind === 'skipped') {
    const u = unusable(mx, facts)
    return u === 'skip' ? undefined : u
  }
  if (facts.kind !== 'hosts' || facts.hosts.length === 0) return undefined
  const entries: string[] = []
  for (const host of facts.hosts) {
    const m = mx.whitelist.match(host)
    if (m === undefined) return undefined
    entries.push(`${host} (${m.entry})`)
  }
  return { allowed: true, rule: 'whitelist', detail: `mx ${entries.join(', ')}` }
}
