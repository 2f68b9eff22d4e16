import { readFileSync } from 'node:fs'
import type { LoadedConfig } from '../config/load.js'
import { fileEntries } from '../config/lists.js'
import { cacheDir, readBody, readMeta } from '../lists/cache.js'
import { displaySource } from '../policy/live-slot.js'
import { CONSTRAINT_KINDS, type ConstraintLists } from '../policy/string-constraints.js'
import { domainRegexes } from './domain-regexes.js'

// The register policy as MAS's policy data: what its register.rego, email.rego and common.rego
// read (policies/ in element-hq/matrix-authentication-service). Written to a YAML file by
// `regguard export mas-policy` and pushed to MAS's admin API by the feeder (src/mas/feeder.ts).
// What MAS cannot express is a note naming the key, never dropped silently.
//
// Semantics carried over:
// - email.rego denies an address matching emails.banned_addresses and, when
//   emails.allowed_addresses is set at all (even empty), one not matching it. That is ma1sd's
//   order (blacklist, whitelist, default) when register.policy.allowed is false; when it is true
//   the whitelist decides nothing and allowed_addresses is left out.
// - MAS matches the address as typed, case-sensitively for globs, suffixes and literals: every
//   domain rule (inline, files, live lists) becomes a (?i) regex anchored at the last "@" and
//   the end (src/mas/domain-regexes.ts); ma1sd patterns match the whole canonical address, and
//   MAS's regex.match searches, so they become (?i)^(?:PATTERN)\.?$ (a trailing dot after the
//   domain, which the canonical address drops, is let through the anchor).
// - username and requester rules are MAS's shape already and are copied.

type Section = 'registration' | 'emails' | 'requester'

export interface Note { section?: Section, text: string }

/** A live list as exported: its cached copy on disk */
export interface LiveSource {
  key: string
  source: string
  /** ISO time of the copy's fetch; null: no copy on disk, not exported */
  fetched_at: string | null
  entries: number
}

export interface MasPolicy {
  data: Record<string, unknown>
  notes: Note[]
  lists: LiveSource[]
}

// RE2 (MAS's regex engine, through OPA) has no lookaround, backreferences, atomic groups, \Z or
// \G. MAS does not compile the regexes when it takes the data (201), only when it evaluates a
// policy, so such a pattern would make every registration's evaluation fail: it is left out
// with a note
const NOT_RE2 = /\(\?<?[=!]|\\[1-9]|\\k<|\(\?>|\\[ZG]/

function nonEmpty (lists: ConstraintLists): Partial<ConstraintLists> {
  const out: Partial<ConstraintLists> = {}
  for (const k of CONSTRAINT_KINDS) if (lists[k].length > 0) out[k] = [...lists[k]]
  return out
}

function regexNotes (sources: string[], what: string, section: Section): Note[] {
  return sources.filter((s) => NOT_RE2.test(s)).map((s) => ({ section, text: `${what} ${JSON.stringify(s)} uses JavaScript-only syntax (lookaround or a backreference) that MAS's RE2 regexes refuse: rewrite it before loading this file` }))
}

const THREEPID = 'register.policy.threepid'

interface SideExport { regexes: string[], notes: Note[], lists: LiveSource[] }

/** One side's domain entries (inline, files, live lists' cached copies) and patterns as regexes. */
function exportSide (config: LoadedConfig, side: 'blacklist' | 'whitelist'): SideExport {
  const { settings, policy } = config
  const email = settings.register.policy.threepid.email
  const notes: Note[] = []
  const lists: LiveSource[] = []
  const consequence = side === 'blacklist' ? 'MAS would let these through' : 'MAS would refuse these'
  const entries: string[] = [...email.domain[side]]
  const key = `${THREEPID}.email.domain.${side}`
  // the loader resolved the files (relative to the config file): their paths are the sources
  for (const path of policy.email[side].domainSources.filter((s) => s !== key)) {
    try {
      for (const [, entry] of fileEntries(readFileSync(path))) entries.push(entry)
    } catch (err) {
      notes.push({ section: 'emails', text: `NOT EXPORTED, ${consequence}: ${key}_files ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` })
    }
  }
  const dir = cacheDir(settings.lists.cache_dir)
  for (const url of new Set(email.domain[`${side}_urls`])) {
    const source = displaySource(url)
    const meta = readMeta(dir, url)
    const body = meta?.fetched_at !== null && meta !== null ? readBody(dir, url) : null
    if (meta === null || meta.fetched_at === null || body === null) {
      lists.push({ key: `${key}_urls`, source, fetched_at: null, entries: 0 })
      notes.push({ section: 'emails', text: `NOT EXPORTED, ${consequence}: ${key}_urls ${source} has no cached copy in ${dir} (run regguard lists refresh)` })
      continue
    }
    let n = 0
    for (const [, entry] of fileEntries(body)) { entries.push(entry); n++ }
    const fetchedAt = new Date(meta.fetched_at).toISOString()
    lists.push({ key: `${key}_urls`, source, fetched_at: fetchedAt, entries: n })
    notes.push({ section: 'emails', text: `${key}_urls ${source}: the cached copy fetched ${fetchedAt} (${n} entries)` })
  }
  const patterns = email.pattern[side]
  const re2 = patterns.filter((s) => !NOT_RE2.test(s))
  for (const s of patterns.filter((s) => NOT_RE2.test(s))) {
    notes.push({ section: 'emails', text: `NOT EXPORTED, ${consequence}: ${THREEPID}.email.pattern.${side} ${JSON.stringify(s)} uses JavaScript-only syntax (lookaround or a backreference) that MAS's RE2 regexes refuse (every evaluation of MAS's policy would fail): rewrite it` })
  }
  return { regexes: [...domainRegexes(entries).regexes, ...re2.map((s) => `(?i)^(?:${s})\\.?$`)], notes, lists }
}

export function masPolicy (config: LoadedConfig): MasPolicy {
  const { settings, policy } = config
  const p = settings.register.policy
  const notes: Note[] = []
  const lists: LiveSource[] = []
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
  const banned = exportSide(config, 'blacklist')
  notes.push(...banned.notes)
  lists.push(...banned.lists)
  if (banned.regexes.length > 0) emails.banned_addresses = { regexes: banned.regexes }
  if (!p.allowed) {
    const allowed = exportSide(config, 'whitelist')
    notes.push(...allowed.notes)
    lists.push(...allowed.lists)
    emails.allowed_addresses = allowed.regexes.length > 0 ? { regexes: allowed.regexes } : {}
    if (allowed.regexes.length === 0) notes.push({ section: 'emails', text: 'register.policy.allowed is false and nothing is whitelisted: allowed_addresses is set but empty, which MAS reads as "no address may register"' })
  } else if (email.domain.whitelist.length + email.pattern.whitelist.length + email.domain.whitelist_files.length + email.domain.whitelist_urls.length > 0) {
    notes.push({ section: 'emails', text: 'the email whitelist is not exported: with register.policy.allowed true it decides nothing (every address not blacklisted may register)' })
  }
  if (Object.keys(emails).length > 0) {
    data.emails = emails
    notes.push({ section: 'emails', text: 'domains and patterns are case-insensitive regexes ((?i)): MAS matches the address as typed, where regguard matches the canonical address (local part case-folded, domain lower-cased IDNA). A domain typed in characters IDNA would map to a listed one (full-width letters, other dots) is not matched by MAS' })
  }

  const requester: Record<string, unknown> = {}
  if (policy.requester !== undefined) {
    if (policy.requester.ips.length > 0) requester.banned_ips = policy.requester.ips.map((r) => r.entry)
    if (policy.requester.userAgents.size > 0) requester.banned_user_agents = nonEmpty(policy.requester.userAgents.lists)
    notes.push(...regexNotes(policy.requester.userAgents.lists.regexes, 'User-Agent regex', 'requester'))
  }
  if (Object.keys(requester).length > 0) data.requester = requester

  // what has no place in MAS's data at all
  const mx = email.mx
  if (mx.require) notes.push({ text: `NOT EXPORTED: ${THREEPID}.email.mx.require (MAS's policy cannot ask DNS: an address whose domain has no mail server is not refused)` })
  if (mx.blacklist.length > 0) notes.push({ text: `NOT EXPORTED, MAS would let these through: ${THREEPID}.email.mx.blacklist (MAS's policy cannot ask DNS for an address's mail servers)` })
  if (mx.whitelist.length > 0) notes.push({ text: `NOT EXPORTED, MAS would refuse these: ${THREEPID}.email.mx.whitelist (MAS's policy cannot ask DNS for an address's mail servers)` })
  if (p.invite) notes.push({ text: 'NOT EXPORTED: register.policy.invite (MAS has no 3PID invites; an address only a pending invite lets through regguard is refused by MAS)' })
  if (p.threepid.msisdn.pattern.whitelist.length + p.threepid.msisdn.pattern.blacklist.length > 0) {
    notes.push({ text: `NOT EXPORTED: ${THREEPID}.msisdn (MAS registers no phone numbers, so the msisdn patterns have no equivalent)` })
  }
  if (!p.require_3pid) notes.push({ text: 'NOT EXPORTED: register.policy.require_3pid is false (regguard lets accounts register without an email; in MAS that is account.password_registration_email_required in its own configuration, not policy data)' })
  if (p.only_check_at_registration) notes.push({ text: 'NOT EXPORTED: register.policy.only_check_at_registration (MAS evaluates email.rego whenever a user adds an address, not only at registration)' })
  return { data, notes, lists }
}
