import { BlockList, isIPv4, isIPv6 } from 'node:net'
import { PolicyConfigError } from './policy.js'
import { describeMatch, matchConstraints, type StringConstraints } from './string-constraints.js'

// Requester rules, as MAS's `requester` data (policies/common/common.rego, requester_banned):
// a client IP inside a banned address or CIDR range, or a User-Agent matching the banned
// string constraints, is refused before anything else is looked at.

export interface IpRule {
  /** the entry as configured */
  entry: string
  list: BlockList
}

export interface RequesterRules {
  ips: IpRule[]
  /** every entry in one list: the common case (no match) costs one lookup */
  anyIp: BlockList
  userAgents: StringConstraints
}

export interface RequesterDecision {
  allowed: boolean
  detail: string
}

function family (addr: string): 'ipv4' | 'ipv6' | null {
  return isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : null
}

/** Adds "ADDR" or "ADDR/BITS" to `list`; false when it is neither. */
function addEntry (list: BlockList, entry: string): boolean {
  const slash = entry.indexOf('/')
  const addr = slash === -1 ? entry : entry.slice(0, slash)
  const type = family(addr)
  if (type === null || addr.includes('%')) return false
  if (slash === -1) { list.addAddress(addr, type); return true }
  const bitsText = entry.slice(slash + 1)
  if (!/^\d{1,3}$/.test(bitsText)) return false
  const bits = Number(bitsText)
  if (bits > (type === 'ipv4' ? 32 : 128)) return false
  list.addSubnet(addr, bits, type)
  return true
}

export function compileIpRules (entries: string[], key: string): { ips: IpRule[], anyIp: BlockList } {
  const anyIp = new BlockList()
  const ips = entries.map((raw, i) => {
    const entry = raw.trim()
    const list = new BlockList()
    if (!addEntry(list, entry)) throw new PolicyConfigError(`${key}[${i}]`, `${JSON.stringify(raw)} is not an IPv4/IPv6 address or CIDR range (e.g. 203.0.113.0/24, 2001:db8::/32)`)
    addEntry(anyIp, entry)
    return { entry, list }
  })
  return { ips, anyIp }
}

/**
 * The banned entry containing `ip`, if any. An IPv4-mapped IPv6 address (::ffff:192.0.2.1,
 * as a dual-stack socket reports IPv4 peers) is the IPv4 address: node's BlockList matches
 * the two forms against each other's ranges. A zone index (fe80::1%eth0) is ignored.
 */
export function matchIp (rules: Pick<RequesterRules, 'ips' | 'anyIp'>, ip: string): string | undefined {
  if (rules.ips.length === 0) return undefined
  const pct = ip.indexOf('%')
  const addr = pct === -1 ? ip : ip.slice(0, pct)
  const type = family(addr)
  if (type === null || !rules.anyIp.check(addr, type)) return undefined
  return rules.ips.find((r) => r.list.check(addr, type))?.entry
}

/**
 * The User-Agent values to judge. Synapse reads the last User-Agent header, decoded as ASCII
 * with U+FFFD for any other byte, and "" when there is none (get_request_user_agent); other
 * proxies read the first. Every one is judged, so no choice of header lets a banned client in.
 * Node's rawHeaders are latin1 (one char per byte), so bytes above 0x7f are replaced here.
 */
export function userAgentsOf (rawHeaders: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === 'user-agent') out.push((rawHeaders[i + 1] as string).replace(/[^\x00-\x7f]/g, '\ufffd'))
  }
  return out.length === 0 ? [''] : out
}

export function hasRequesterRules (rules: RequesterRules | undefined): rules is RequesterRules {
  return rules !== undefined && (rules.ips.length > 0 || rules.userAgents.size > 0)
}

export function decideRequester (rules: RequesterRules, ip: string | null, userAgents: readonly string[]): RequesterDecision {
  if (ip !== null) {
    const hit = matchIp(rules, ip)
    if (hit !== undefined) return { allowed: false, detail: `banned_ips ${hit}` }
  }
  for (const ua of userAgents) {
    const m = matchConstraints(rules.userAgents, ua)
    if (m !== undefined) return { allowed: false, detail: `banned_user_agents ${describeMatch(m)}` }
  }
  return { allowed: true, detail: 'no requester rule matched' }
}

export function describeRequesterDecision (d: RequesterDecision): string {
  return d.allowed ? `allowed (${d.detail})` : `denied by requester.${d.detail}`
}
