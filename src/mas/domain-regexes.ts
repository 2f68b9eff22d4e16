import { domainToUnicode } from 'node:url'
import { parseDomainEntry } from '../policy/domain-set.js'

// Domain entries as MAS regexes. MAS matches input.email as the user typed it, and glob.match
// (data.banned_domains) and endswith (suffixes) are case-sensitive there: only an RE2 regex with
// (?i) catches every case spelling. Each regex is anchored at the last "@" and at the end (an
// optional trailing dot: regguard drops it too), and holds a batch of domains as one
// alternation: MAS instantiates its policy for every evaluation, so each regex is compiled for
// each registration; a few large alternations cost one pass each where a regex per entry costs
// thousands of compilations. A batch is bounded in length so that no regex nears RE2's
// default program size limit (docs/mas.md).

/** The longest alternation one regex holds, in characters */
export const MAX_ALTERNATION_CHARS = 16_000

type Kind = 'exact' | 'parent' | 'both'

// what comes between "@" and the listed domain, for each kind of entry
const LEAD: Record<Kind, string> = {
  exact: '@',
  parent: '@[^@]*\\.',
  both: '@(?:[^@]*\\.)?'
}

// canonical domains are LDH ASCII and their Unicode forms letters: only "." and "-" need care
function quote (domain: string): string {
  return domain.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')
}

export interface DomainRegexes {
  regexes: string[]
  /** distinct (domain, kind) pairs exported */
  domains: number
}

/**
 * Entries in regguard's domain syntax ("x", ".x", "*x") as anchored, case-insensitive RE2
 * regexes over the whole address. An IDN domain is listed in its ASCII and its Unicode spelling
 * (MAS sees what was typed). Unparseable entries are skipped: the loader refused them already.
 */
export function domainRegexes (entries: Iterable<string>, maxChars = MAX_ALTERNATION_CHARS): DomainRegexes {
  const flags = new Map<string, { exact: boolean, parent: boolean }>()
  for (const entry of entries) {
    const parsed = parseDomainEntry(entry)
    if (parsed === null) continue
    const spellings = new Set([parsed.domain, domainToUnicode(parsed.domain)].filter((d) => d !== ''))
    for (const d of spellings) {
      const f = flags.get(d) ?? { exact: false, parent: false }
      if (parsed.withExact) f.exact = true
      if (parsed.withParent) f.parent = true
      flags.set(d, f)
    }
  }
  const byKind: Record<Kind, string[]> = { exact: [], parent: [], both: [] }
  for (const [d, f] of flags) byKind[f.exact && f.parent ? 'both' : f.exact ? 'exact' : 'parent'].push(d)
  const regexes: string[] = []
  for (const kind of ['both', 'exact', 'parent'] as const) {
    // sorted: the same lists give the same document (and hash) whatever their order
    const domains = byKind[kind].sort()
    let batch: string[] = []
    let length = 0
    const flush = (): void => {
      if (batch.length > 0) regexes.push(`(?i)${LEAD[kind]}(?:${batch.join('|')})\\.?$`)
      batch = []
      length = 0
    }
    for (const d of domains) {
      const q = quote(d)
      if (length + q.length + 1 > maxChars) flush()
      batch.push(q)
      length += q.length + 1
    }
    flush()
  }
  return { regexes, domains: byKind.exact.length + byKind.parent.length + byKind.both.length }
}
