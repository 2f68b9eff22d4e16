import { domainOf, type Medium } from './canonical.js'
import { DomainSet } from './domain-set.js'
import type { RequesterRules } from './requester.js'
import type { UsernameRules } from './username.js'

// The registration policy: pure data compiled once from config, and one pure decision
// function. No I/O here: list files are read by the config loader, invites by the caller.

export interface PatternRule { source: string, regex: RegExp, key: string }

export interface ListSide {
  domains: DomainSet
  /** Where domain entries came from, for messages: config keys and file names. */
  domainSources: string[]
  patterns: PatternRule[]
}

export interface Policy {
  allowed: boolean
  invite: boolean
  email: { whitelist: ListSide, blacklist: ListSide }
  msisdn: { whitelist: ListSide, blacklist: ListSide }
  /** MAS-style gates of their own, outside the 3PID decision order (absent: none) */
  username?: UsernameRules
  requester?: RequesterRules
}

export type RuleKind = 'invite' | 'blacklist' | 'whitelist' | 'default'

export interface Decision {
  allowed: boolean
  rule: RuleKind
  /** What made it: the matching entry, pattern, invite id, or the default's value. */
  detail: string
}

export interface PendingInvite { id: string }

export function emptySide (): ListSide {
  return { domains: new DomainSet(), domainSources: [], patterns: [] }
}

export class PolicyConfigError extends Error {
  constructor (readonly key: string, message: string) {
    super(`${key}: ${message}`)
  }
}

/** A pattern entry as ma1sd meant it: a regular expression over the whole canonical address. */
export function compilePattern (source: string, key: string): PatternRule {
  try {
    return { source, regex: new RegExp(`^(?:${source})$`), key }
  } catch (err) {
    throw new PolicyConfigError(key, `invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`)
  }
}

function matchSide (side: ListSide, medium: Medium, address: string): string | undefined {
  if (medium === 'email' && side.domains.size > 0) {
    const m = side.domains.match(domainOf(address))
    if (m) return `domain ${m.entry}`
  }
  for (const p of side.patterns) {
    if (p.regex.test(address)) return `pattern ${p.source}`
  }
  return undefined
}

/**
 * ma1sd's order: a pending invite (when enabled) allows; else any blacklist match denies;
 * else any whitelist match allows; else the default. `address` must be canonical.
 */
export function decide (policy: Policy, medium: Medium, address: string, invite?: PendingInvite | null): Decision {
  if (policy.invite && invite) return { allowed: true, rule: 'invite', detail: invite.id }
  const lists = policy[medium]
  const black = matchSide(lists.blacklist, medium, address)
  if (black !== undefined) return { allowed: false, rule: 'blacklist', detail: black }
  const white = matchSide(lists.whitelist, medium, address)
  if (white !== undefined) return { allowed: true, rule: 'whitelist', detail: white }
  return { allowed: policy.allowed, rule: 'default', detail: `allowed: ${String(policy.allowed)}` }
}

/** Would anything but an invite allow this address? Used by the 3pid-checker answer. */
export function decideWithoutInvite (policy: Policy, medium: Medium, address: string): Decision {
  return decide(policy, medium, address, null)
}

export function describeDecision (d: Decision): string {
  const verb = d.allowed ? 'allowed' : 'denied'
  switch (d.rule) {
    case 'invite': return `allowed by invite ${d.detail}`
    case 'default': return `${verb} by default (${d.detail})`
    default: return `${verb} by ${d.rule} ${d.detail}`
  }
}
