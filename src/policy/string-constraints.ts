import { PolicyConfigError } from './policy.js'

// MAS's "string constraints" (policies/common/common.rego, matches_string_constraints): a value
// matches when it equals a literal, starts with a prefix, ends with a suffix, contains a
// substring, or a regular expression matches somewhere in it (Rego's regex.match is a search,
// not a whole match). Used for usernames and User-Agents, so rules written for MAS mean the
// same here and `regguard export mas-policy` can copy them across unchanged.

export const CONSTRAINT_KINDS = ['literals', 'prefixes', 'suffixes', 'substrings', 'regexes'] as const
export type ConstraintKind = typeof CONSTRAINT_KINDS[number]

export type ConstraintLists = Record<ConstraintKind, string[]>

export interface StringConstraints {
  /** The entries as configured (after `normalise`), kind by kind: what the MAS export writes */
  lists: ConstraintLists
  literals: Set<string>
  regexes: Array<{ source: string, regex: RegExp }>
  /** Entries of every kind together; 0 means "no constraint was given" */
  size: number
}

export interface ConstraintMatch {
  kind: ConstraintKind
  entry: string
}

const SINGULAR: Record<ConstraintKind, string> = {
  literals: 'literal',
  prefixes: 'prefix',
  suffixes: 'suffix',
  substrings: 'substring',
  regexes: 'regex'
}

export function describeMatch (m: ConstraintMatch): string {
  return `${SINGULAR[m.kind]} ${JSON.stringify(m.entry)}`
}

export function emptyConstraints (): StringConstraints {
  return compileConstraints({ literals: [], prefixes: [], suffixes: [], substrings: [], regexes: [] }, '')
}

/**
 * Compiles one constraints block. `normalise` applies to the plain-text kinds (usernames are
 * matched lower-cased, so their entries are lower-cased too; regexes are left as written).
 */
export function compileConstraints (lists: ConstraintLists, key: string, normalise: (s: string) => string = (s) => s): StringConstraints {
  const out: ConstraintLists = { literals: [], prefixes: [], suffixes: [], substrings: [], regexes: [] }
  for (const kind of CONSTRAINT_KINDS) {
    out[kind] = kind === 'regexes' ? [...lists[kind]] : lists[kind].map(normalise)
  }
  const regexes = out.regexes.map((source, i) => {
    try {
      return { source, regex: new RegExp(source) }
    } catch (err) {
      throw new PolicyConfigError(`${key}.regexes[${i}]`, `invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`)
    }
  })
  const size = CONSTRAINT_KINDS.reduce((n, k) => n + out[k].length, 0)
  return { lists: out, literals: new Set(out.literals), regexes, size }
}

/** The first entry that matches, kinds in the order of CONSTRAINT_KINDS. */
export function matchConstraints (c: StringConstraints, value: string): ConstraintMatch | undefined {
  if (c.size === 0) return undefined
  if (c.literals.has(value)) return { kind: 'literals', entry: value }
  for (const p of c.lists.prefixes) if (value.startsWith(p)) return { kind: 'prefixes', entry: p }
  for (const s of c.lists.suffixes) if (value.endsWith(s)) return { kind: 'suffixes', entry: s }
  for (const s of c.lists.substrings) if (value.includes(s)) return { kind: 'substrings', entry: s }
  for (const r of c.regexes) if (r.regex.test(value)) return { kind: 'regexes', entry: r.source }
  return undefined
}
