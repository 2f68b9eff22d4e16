import { domainOf, type Medium } from '../synapse/canonical.js'
import { DomainSet } from './domain-set.js'
import type { RequesterRules } from './requester.js'
import type { UsernameRules } from './username.js'
import { displaySource, type LiveSlot } from './live-slot.js'
import { emptyMxPolicy, mxAllow, mxBlacklistActive, mxDeny, mxWhitelistActive, type MxFacts, type MxPolicy } from './mx-rules.js'

// The registration policy: pure data compiled once from config, and one pure decision
// function. No I/O here: list files are read by the config loader, invites by the caller.

export interface PatternRule { source: string, regex: RegExp, key: string }

export interface ListSide {
  domains: DomainSet
  /** Where domain entries came from, for messages: config keys and file names. */
  domainSources: string[]
  patterns: PatternRule[]
  /** Lists fetched over HTTP(S) (the *_urls keys), in the same entry syntax as domains */
  live: LiveSlot[]
}

export interface Policy {
  allowed: boolean
  invite: boolean
  /**
   * register.policy.invite_overrides_blacklist: ma1sd's order, an invite allowing before any
   * blacklist. Off (absent): every blacklist kind denies first, so no invite, learned from
   * anyone's room, opens a denied address
   */
  inviteOverridesBlacklist?: boolean
  email: { whitelist: ListSide, blacklist: ListSide, mx: MxPolicy }
  msisdn: { whitelist: ListSide, blacklist: ListSide }
  /** MAS-style gates of their own, outside the 3PID decision order (absent: none) */
  username?: UsernameRules
  requester?: RequesterRules
}

export type RuleKind = 'invite' | 'blacklist' | 'whitelist' | 'default' | 'mx_require' | 'mx_error'

export interface Decision {
  allowed: boolean
  rule: RuleKind
  /** What made it: the matching entry, pattern, invite id, or the default's value. */
  detail: string
  /** The denial may not hold on a retry (a DNS lookup failed): answered as a temporary error */
  temporary?: true
}

export interface PendingInvite { id: string }

export function emptySide (): ListSide {
  return { domains: new DomainSet(), domainSources: [], patterns: [], live: [] }
}

export { emptyMxPolicy, type MxFacts }

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
    // a list file is named (a config key is not: the entry is in the configuration itself)
    const from = m?.source !== undefined ? side.domainSources[m.source - 1] : undefined
    if (m) return from !== undefined && !from.startsWith('register.') ? `domain ${m.entry} (file ${from})` : `domain ${m.entry}`
  }
  if (medium === 'email') {
    for (const slot of side.live) {
      if (slot.domains.size === 0) continue
      const m = slot.domains.match(domainOf(address))
      if (m) return `domain ${m.entry} (list ${displaySource(slot.url)})`
    }
  }
  for (const p of side.patterns) {
    if (p.regex.test(address)) return `pattern ${p.source}`
  }
  return undefined
}

/** Either the decision, or the domain whose mail servers the next rule needs to know. */
export type Pass = { decision: Decision } | { needsMx: string }

/**
 * Any blacklist kind denies (domain lists, files, live lists, patterns, then the mail-server
 * rules: require, mx blacklist); else a pending invite (when enabled) allows; else any whitelist
 * kind allows (domain lists, patterns, then the mx whitelist); else the default. With
 * inviteOverridesBlacklist, ma1sd's order: the invite first. `address` must be canonical. With
 * `mx` undefined, a rule that needs DNS answers { needsMx } instead of deciding: the caller
 * looks up and calls again with the facts, so no lookup happens once an earlier rule has decided.
 */
export function evaluate (policy: Policy, medium: Medium, address: string, invite: PendingInvite | null | undefined, mx: MxFacts | undefined): Pass {
  const invited = policy.invite && invite ? { decision: { allowed: true, rule: 'invite' as const, detail: invite.id } } : undefined
  if (invited !== undefined && policy.inviteOverridesBlacklist === true) return invited
  const lists = policy[medium]
  const black = matchSide(lists.blacklist, medium, address)
  if (black !== undefined) return { decision: { allowed: false, rule: 'blacklist', detail: black } }
  const mxPolicy = medium === 'email' ? policy.email.mx : undefined
  if (mxPolicy !== undefined && mxBlacklistActive(mxPolicy)) {
    if (mx === undefined) return { needsMx: domainOf(address) }
    const d = mxDeny(mxPolicy, domainOf(address), mx)
    if (d !== undefined) return { decision: d }
  }
  if (invited !== undefined) return invited
  const white = matchSide(lists.whitelist, medium, address)
  if (white !== undefined) return { decision: { allowed: true, rule: 'whitelist', detail: white } }
  if (mxPolicy !== undefined && mxWhitelistActive(mxPolicy)) {
    if (mx === undefined) return { needsMx: domainOf(address) }
    const d = mxAllow(mxPolicy, mx)
    if (d !== undefined) return { decision: d }
  }
  return { decision: { allowed: policy.allowed, rule: 'default', detail: `allowed: ${String(policy.allowed)}` } }
}

/**
 * Would a pending invite decide here, with these mail-server facts (undefined: none known yet)?
 * False after a blacklist kind denied (unless invite_overrides_blacklist), when the invite rule
 * is off, or when a lookup must come first: the caller asks the store only when it is true.
 */
export function inviteWouldDecide (policy: Policy, medium: Medium, address: string, mx: MxFacts | undefined): boolean {
  if (!policy.invite) return false
  const pass = evaluate(policy, medium, address, { id: '' }, mx)
  return 'decision' in pass && pass.decision.rule === 'invite'
}

/**
 * The decision when no rule needs DNS, or with the mail-server facts already known. A policy
 * whose mail-server rules need a lookup not given here is a programming error (src/decide.ts
 * does the lookup), never a silent allow.
 */
export function decide (policy: Policy, medium: Medium, address: string, invite?: PendingInvite | null, mx?: MxFacts): Decision {
  const pass = evaluate(policy, medium, address, invite, mx)
  if ('needsMx' in pass) throw new Error(`the mail-server rules need a DNS lookup for ${pass.needsMx}: decide through decideAddress`)
  return pass.decision
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
    case 'mx_require': return `${verb} by mx.require: ${d.detail}`
    case 'mx_error': return `${verb} by mx.on_error (deny): ${d.detail}`
    default: return `${verb} by ${d.rule} ${d.detail}`
  }
}
