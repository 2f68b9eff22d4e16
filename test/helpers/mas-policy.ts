import { BlockList, isIPv4, isIPv6 } from 'node:net'

// A small evaluator of MAS's policies as they read policy data, written from element-hq/
// matrix-authentication-service policies/: common.rego (matches_string_constraints, ip_in_list),
// email.rego (its four violations) and register.rego's username and requester rules. No OPA is
// available here; this is what the tests judge exported data with. Rego's semantics kept:
// - `not data.x` holds when x is undefined or false (an empty object or list is set);
// - `some v in C` iterates an array's items or an object's values, anything else yields nothing;
// - regex.match is RE2, a search (not anchored); glob.match is gobwas/glob with the "."
//   delimiter; endswith / startswith / contains / == are case-sensitive code-unit comparisons.
// An RE2 pattern this cannot translate exactly throws (as MAS's policy errors on an invalid one).

export type Data = Record<string, unknown>

const set = (v: unknown): boolean => v !== undefined && v !== false

function get (obj: unknown, ...path: string[]): unknown {
  let cur = obj
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, k)) return undefined
    cur = (cur as Record<string, unknown>)[k]
  }
  return cur
}

function members (c: unknown): unknown[] {
  if (Array.isArray(c)) return c
  if (c !== null && typeof c === 'object') return Object.values(c)
  return []
}

const strings = (c: unknown): string[] => members(c).filter((v): v is string => typeof v === 'string')

// JavaScript's own syntax characters: kept escaped; RE2 lets any punctuation be escaped, which
// JavaScript's u mode refuses
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''))
const RE2_SPACE = '\\t\\n\\f\\r '

/** An RE2 pattern as an equivalent JavaScript RegExp (u mode: code points, as RE2's UTF-8). */
export function re2ToRegExp (pattern: string): RegExp {
  let src = pattern
  let flags = 'u'
  let wrapI = false
  const lead = /^\(\?([imsU]+)\)/.exec(src)
  if (lead !== null) {
    const f = lead[1] as string
    if (f.includes('U')) throw new Error(`evaluator: RE2 flag U (ungreedy) is not translated: ${pattern}`)
    if (f.includes('i')) wrapI = true
    if (f.includes('s')) flags += 's'
    if (f.includes('m')) flags += 'm'
    src = src.slice(lead[0].length)
  }
  let out = ''
  let inClass = false
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string
    if (c === '\\') {
      const n = src[i + 1]
      if (n === undefined) throw new Error(`RE2: trailing backslash: ${pattern}`)
      i++
      if (/[1-9]/.test(n)) throw new Error(`RE2: invalid escape (backreference): ${pattern}`)
      if (n === 'z' && !inClass) { out += '(?![\\s\\S])'; continue }
      if (n === 'A' && !inClass) { out += '(?<![\\s\\S])'; continue }
      if (n === 's') { out += inClass ? RE2_SPACE : `[${RE2_SPACE}]`; continue }
      if (n === 'S') { if (inClass) throw new Error(`evaluator: \\S in a class: ${pattern}`); out += `[^${RE2_SPACE}]`; continue }
      if (n === 'p' || n === 'P') {
        if (src[i + 1] === '{') { const end = src.indexOf('}', i); out += '\\' + n + src.slice(i + 1, end + 1); i = end } else { out += `\\${n}{${src[i + 1] ?? ''}}`; i++ }
        continue
      }
      if (/[a-zA-Z0-9]/.test(n)) { out += '\\' + n; continue }
      out += JS_SYNTAX.has(n) || (inClass && n === '-') ? '\\' + n : n
      continue
    }
    if (inClass) {
      if (c === ']') inClass = false
      out += c
      continue
    }
    if (c === '[') {
      inClass = true
      out += c
      if (src[i + 1] === '^') { out += '^'; i++ }
      // a "]" first in a class is a literal in RE2
      if (src[i + 1] === ']') { out += '\\]'; i++ }
      continue
    }
    if (c === '(' && src[i + 1] === '?') {
      const rest = src.slice(i + 2)
      if (/^<?[=!]/.test(rest)) throw new Error(`RE2: invalid or unsupported Perl syntax (lookaround): ${pattern}`)
      if (rest.startsWith('P<')) { out += '(?<'; i += 3; continue }
      if (rest.startsWith(':') || rest.startsWith('<')) { out += c; continue }
      throw new Error(`evaluator: inline flags inside a pattern are not translated: ${pattern}`)
    }
    // RE2's "." is any character but \n (JavaScript's also refuses \r and the line separators)
    if (c === '.' && !flags.includes('s')) { out += '[^\\n]'; continue }
    out += c
  }
  return new RegExp(wrapI ? `(?i:${out})` : out, flags)
}

/** Rego's regex.match(pattern, value): a search. */
export function regexMatch (pattern: string, value: string): boolean {
  return re2ToRegExp(pattern).test(value)
}

const escapeLiteral = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

/** OPA's glob.match(pattern, delimiters, value) (gobwas/glob): the whole value, case-sensitive. */
export function globMatch (pattern: string, delimiters: string[], value: string): boolean {
  const delims = delimiters.length === 0 ? ['.'] : delimiters
  const not = `[^${delims.map((d) => d.replace(/[\\\]^-]/g, '\\$&')).join('')}]`
  let out = ''
  let depth = 0
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '\\') { out += escapeLiteral(pattern[++i] ?? ''); continue }
    if (c === '*') {
      if (pattern[i + 1] === '*') { out += '[\\s\\S]*'; i++ } else out += `${not}*`
      continue
    }
    if (c === '?') { out += not; continue }
    if (c === '[') {
      const end = pattern.indexOf(']', i + 1)
      if (end === -1) throw new Error(`glob: unclosed class: ${pattern}`)
      let body = pattern.slice(i + 1, end)
      const neg = body.startsWith('!')
      if (neg) body = body.slice(1)
      out += `[${neg ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`
      i = end
      continue
    }
    if (c === '{') { out += '(?:'; depth++; continue }
    if (c === '}' && depth > 0) { out += ')'; depth--; continue }
    if (c === ',' && depth > 0) { out += '|'; continue }
    out += escapeLiteral(c)
  }
  return new RegExp(`^(?:${out})$`, 'u').test(value)
}

/** common.rego matches_string_constraints: any one kind matching. */
export function matchesStringConstraints (str: string, constraints: unknown): boolean {
  return strings(get(constraints, 'regexes')).some((p) => regexMatch(p, str)) ||
    strings(get(constraints, 'substrings')).some((p) => str.includes(p)) ||
    strings(get(constraints, 'literals')).some((p) => str === p) ||
    strings(get(constraints, 'suffixes')).some((p) => str.endsWith(p)) ||
    strings(get(constraints, 'prefixes')).some((p) => str.startsWith(p))
}

/** common.rego ip_in_list (net.cidr_contains of each entry, a bare address as /32 or /128). */
export function ipInList (ip: string, list: unknown): boolean {
  for (const entry of strings(list)) {
    const [addr = '', bits] = entry.split('/')
    const family = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : null
    if (family === null) continue
    const b = new BlockList()
    b.addSubnet(addr, bits !== undefined ? Number(bits) : family === 'ipv4' ? 32 : 128, family)
    if (b.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6')) return true
  }
  return false
}

/** email.rego: the codes of its violations for input.email (none: allowed). */
export function emailViolations (data: Data, email: string): string[] {
  const v: string[] = []
  // `[_, domain] := split(input.email, "@")` binds only when there are exactly two parts
  const parts = email.split('@')
  const domain = parts.length === 2 ? parts[1] as string : undefined
  const domainAllowed = !set(data.allowed_domains) ||
    (domain !== undefined && strings(data.allowed_domains).some((g) => globMatch(g, ['.'], domain)))
  if (!domainAllowed) v.push('email-domain-not-allowed')
  if (domain !== undefined && strings(data.banned_domains).some((g) => globMatch(g, ['.'], domain))) v.push('email-domain-banned')
  const allowedAddresses = get(data, 'emails', 'allowed_addresses')
  if (set(allowedAddresses) && !matchesStringConstraints(email, allowedAddresses)) v.push('email-not-allowed')
  if (matchesStringConstraints(email, get(data, 'emails', 'banned_addresses'))) v.push('email-banned')
  return v
}

export const emailAllowed = (data: Data, email: string): boolean => emailViolations(data, email).length === 0

/** register.rego's data-driven username rules: banned, and allowed when set. */
export function usernameAllowed (data: Data, username: string): boolean {
  const allowed = get(data, 'registration', 'allowed_usernames')
  return !matchesStringConstraints(username, get(data, 'registration', 'banned_usernames')) &&
    (!set(allowed) || matchesStringConstraints(username, allowed))
}

/** common.rego requester_banned, with data.requester. */
export function requesterBanned (data: Data, requester: { ip_address?: string, user_agent?: string }): boolean {
  const policy = get(data, 'requester')
  return (requester.ip_address !== undefined && ipInList(requester.ip_address, get(policy, 'banned_ips'))) ||
    (requester.user_agent !== undefined && matchesStringConstraints(requester.user_agent, get(policy, 'banned_user_agents')))
}
