import { domainToUnicode } from 'node:url'
import YAML from 'yaml'
import type { Settings } from '../config/settings.js'
import { parseDomainEntry } from '../policy/domain-set.js'
import { CONSTRAINT_KINDS, type ConstraintLists } from '../policy/string-constraints.js'
import type { Policy } from '../policy/policy.js'

// `regguard export mas-policy`: the register policy as MAS's `policy.data` (the data its
// default register.rego / email.rego / common.rego read), for operators moving to the Matrix
// Authentication Service. What MAS cannot express is written as YAML comments, never dropped
// silently.
//
// Semantics carried over:
// - emails: MAS denies an address matching emails.banned_addresses, and when
//   emails.allowed_addresses is set at all (even empty) requires a match. That is ma1sd's
//   order (blacklist, whitelist, default) exactly when register.policy.allowed is false; when
//   it is true the whitelist decides nothing and allowed_addresses is left out.
// - domain entries become suffixes of the whole address: "example.org" is "@example.org",
//   ".example.org" (subdomains only) is ".example.org" (only a subdomain's address ends so),
//   "*example.org" is both.
// - ma1sd patterns match the whole canonical address; MAS regexes search (Rego regex.match),
//   so they are exported anchored: ^(?:PATTERN)$.
// - username and requester rules are MAS's own shape already and are copied.

type Section = 'registration' | 'emails' | 'requester'

export interface Note { section?: Section, text: string }

export interface MasPolicy {
  data: Record<string, unknown>
  notes: Note[]
}

// RE2 (OPA's regex engine) has no lookaround and no backreferences
const NOT_RE2 = /\(\?<?[=!]|\\[1-9]|\\k</

function nonEmpty (lists: ConstraintLists): Partial<ConstraintLists> {
  const out: Partial<ConstraintLists> = {}
  for (const k of CONSTRAINT_KINDS) if (lists[k].length > 0) out[k] = [...lists[k]]
  return out
}

function domainSuffixes (entries: string[]): string[] {
  const out: string[] = []
  const add = (s: string): void => { if (!out.includes(s)) out.push(s) }
  for (const entry of entries) {
    const parsed = parseDomainEntry(entry)
    if (parsed === null) continue // refused at load already
    // MAS compares the address as given: an IDN domain is listed in both spellings
    const spellings = [parsed.domain, domainToUnicode(parsed.domain)].filter((d, i, a) => d !== '' && a.indexOf(d) === i)
    for (const d of spellings) {
      if (parsed.withExact) add(`@${d}`)
      if (parsed.withParent) add(`.${d}`)
    }
  }
  return out
}

function regexNotes (sources: string[], what: string, section: Section): Note[] {
  return sources.filter((s) => NOT_RE2.test(s)).map((s) => ({ section, text: `${what} ${JSON.stringify(s)} uses JavaScript-only syntax (lookaround or a backreference) that MAS's RE2 regexes refuse: rewrite it before loading this file` }))
}

export function masPolicy (settings: Settings, policy: Policy): MasPolicy {
  const p = settings.register.policy
  const notes: Note[] = []
  const data: Record<string, unknown> = {}

  const registration: Record<string, unknown> = {}
  if (policy.username !== undefined) {
    if (policy.username.allowed.size > 0) registration.allowed_usernames = nonEmpty(policy.username.allowed.lists)
    if (policy.username.banned.size > 0) registration.banned_usernames = nonEmpty(policy.username.banned.lists)
    notes.push(...regexNotes([...policy.username.allowed.lists.regexes, ...policy.username.banned.lists.regexes], 'username regex', 'registration'))
  }
  if (Object.keys(registration).length > 0) data.registration = registration

  const email = p.threepid.email
  const emails: Record<string, unknown> = {}
  const banned: Record<string, string[]> = {}
  const bannedSuffixes = domainSuffixes(email.domain.blacklist)
  if (bannedSuffixes.length > 0) banned.suffixes = bannedSuffixes
  if (email.pattern.blacklist.length > 0) banned.regexes = email.pattern.blacklist.map((s) => `^(?:${s})$`)
  if (Object.keys(banned).length > 0) emails.banned_addresses = banned
  for (const file of email.domain.blacklist_files) {
    notes.push({ section: 'emails', text: `NOT EXPORTED, MAS would let these through: the blacklist file ${file} (MAS has no list files; put its domains in banned_addresses.suffixes as "@domain" and ".domain")` })
  }
  if (!p.allowed) {
    const allowed: Record<string, string[]> = {}
    const allowedSuffixes = domainSuffixes(email.domain.whitelist)
    if (allowedSuffixes.length > 0) allowed.suffixes = allowedSuffixes
    if (email.pattern.whitelist.length > 0) allowed.regexes = email.pattern.whitelist.map((s) => `^(?:${s})$`)
    emails.allowed_addresses = allowed
    if (Object.keys(allowed).length === 0) notes.push({ section: 'emails', text: 'register.policy.allowed is false and nothing is whitelisted: allowed_addresses is set but empty, which MAS reads as "no address may register"' })
    for (const file of email.domain.whitelist_files) {
      notes.push({ section: 'emails', text: `not exported, MAS would refuse these: the whitelist file ${file} (MAS has no list files; put its domains in allowed_addresses.suffixes)` })
    }
  } else if (email.domain.whitelist.length + email.pattern.whitelist.length + email.domain.whitelist_files.length > 0) {
    notes.push({ section: 'emails', text: 'the email whitelist is not exported: with register.policy.allowed true it decides nothing (every address not blacklisted may register)' })
  }
  notes.push(...regexNotes([...email.pattern.blacklist, ...email.pattern.whitelist], 'email pattern', 'emails'))
  if (Object.keys(emails).length > 0) {
    data.emails = emails
    notes.push({ section: 'emails', text: 'regguard matches the canonical address (local part case-folded, domain lower-cased IDNA); MAS matches suffixes and regexes against the address case-sensitively as it has it' })
  }

  const requester: Record<string, unknown> = {}
  if (policy.requester !== undefined) {
    if (policy.requester.ips.length > 0) requester.banned_ips = policy.requester.ips.map((r) => r.entry)
    if (policy.requester.userAgents.size > 0) requester.banned_user_agents = nonEmpty(policy.requester.userAgents.lists)
    notes.push(...regexNotes(policy.requester.userAgents.lists.regexes, 'User-Agent regex', 'requester'))
  }
  if (Object.keys(requester).length > 0) data.requester = requester

  // what has no place in MAS's data at all
  if (p.invite) notes.push({ text: 'register.policy.invite: MAS has no 3PID invites; an address only a pending invite lets through regguard is refused by MAS' })
  if (p.threepid.msisdn.pattern.whitelist.length + p.threepid.msisdn.pattern.blacklist.length > 0) {
    notes.push({ text: 'register.policy.threepid.msisdn: MAS registers no phone numbers, so the msisdn patterns have no equivalent' })
  }
  if (!p.require_3pid) notes.push({ text: 'register.policy.require_3pid is false: regguard lets accounts register without an email; MAS requires one for every password registration' })
  if (p.only_check_at_registration) notes.push({ text: 'register.policy.only_check_at_registration: MAS evaluates email.rego whenever a user adds an address, not only at registration' })
  return { data, notes }
}

export function masPolicyYaml (settings: Settings, policy: Policy, source: string): string {
  const { data, notes } = masPolicy(settings, policy)
  const doc = new YAML.Document({ policy: { data } })
  const header = [
    ` MAS policy data equivalent to the register policy of ${source}`,
    ' (generated by regguard export mas-policy; merge into MAS\'s config.yaml).'
  ]
  const dataNode = doc.getIn(['policy', 'data'], true) as YAML.YAMLMap | undefined
  for (const n of notes) {
    const pair = n.section !== undefined ? dataNode?.items.find((i) => (i.key as YAML.Scalar).value === n.section) : undefined
    if (pair !== undefined) {
      const key = pair.key as YAML.Scalar
      key.commentBefore = (key.commentBefore !== undefined && key.commentBefore !== null ? `${key.commentBefore}\n` : '') + ` ${n.text}`
    } else {
      header.push(` ${n.text}`)
    }
  }
  doc.commentBefore = header.join('\n')
  return doc.toString({ lineWidth: 0 })
}
