// Who a client is, for counting: one IPv6 host usually holds a whole /64 (SLAAC, privacy
// addresses, a delegated prefix), so counting single IPv6 addresses would let one client be a
// billion clients. IPv4 arrives both plain and IPv4-mapped (a dual-stack listener, or a proxy's
// X-Forwarded-For), and both spellings must be one client.

/** The eight 16-bit groups of an IPv6 address (zone id ignored), or null if it is not one. */
export function parseIPv6 (text: string): number[] | null {
  const zone = text.indexOf('%')
  const s = zone === -1 ? text : text.slice(0, zone)
  if (s.length < 2 || s.length > 45) return null
  const halves = s.split('::')
  if (halves.length > 2) return null
  const head = groupsOf(halves[0] as string, halves.length === 1)
  const tail = halves.length === 2 ? groupsOf(halves[1] as string, true) : []
  if (head === null || tail === null) return null
  if (halves.length === 1) return head.length === 8 ? head : null
  // "::" stands for at least one zero group
  const missing = 8 - head.length - tail.length
  if (missing < 1) return null
  return [...head, ...new Array<number>(missing).fill(0), ...tail]
}

const HEXTET = /^[0-9a-fA-F]{1,4}$/
const OCTET = /^(?:0|[1-9][0-9]{0,2})$/

/** Groups of one side of "::"; a dotted IPv4 tail (two groups) only where the address ends. */
function groupsOf (part: string, endsAddress: boolean): number[] | null {
  if (part === '') return []
  const fields = part.split(':')
  const out: number[] = []
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as string
    if (i === fields.length - 1 && endsAddress && f.includes('.')) {
      const v4 = parseIPv4(f)
      if (v4 === null) return null
      out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3])
    } else {
      if (!HEXTET.test(f)) return null
      out.push(parseInt(f, 16))
    }
  }
  return out
}

function parseIPv4 (s: string): [number, number, number, number] | null {
  const parts = s.split('.')
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p) && Number(p) <= 255)) return null
  return parts.map(Number) as [number, number, number, number]
}

/** RFC 5952 text: lower-case, no leading zeros, the longest run of two or more zero groups as "::". */
export function formatIPv6 (groups: readonly number[]): string {
  let bestAt = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) { bestAt = i; bestLen = j - i }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestAt === -1) return hex.join(':')
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`
}

/**
 * The key a client is counted under: an IPv4 address as it is (IPv4-mapped IPv6 as its IPv4
 * address), an IPv6 address as its network of `ipv6Prefix` bits ("2001:db8:1:2::/64"), and
 * anything else (a trusted proxy's odd X-Forwarded-For entry) unchanged.
 */
export function clientKey (ip: string, ipv6Prefix: number): string {
  // the common case costs one scan: IPv4 from a plain IPv4 listener
  if (!ip.includes(':')) return ip
  // parsing costs microseconds, and a client sends many requests: remember the last few
  if (ipv6Prefix !== cachedPrefix) { cache.clear(); cachedPrefix = ipv6Prefix }
  let key = cache.get(ip)
  if (key === undefined) {
    key = keyOfIPv6(ip, ipv6Prefix)
    if (cache.size >= CACHE_MAX) cache.clear()
    cache.set(ip, key)
  }
  return key
}

/** Keys remembered; past this the memory starts again (many addresses cannot grow it). */
const CACHE_MAX = 4096
const cache = new Map<string, string>()
let cachedPrefix = -1

function keyOfIPv6 (ip: string, ipv6Prefix: number): string {
  const g = parseIPv6(ip)
  if (g === null) return ip
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `${(g[6] as number) >> 8}.${(g[6] as number) & 255}.${(g[7] as number) >> 8}.${(g[7] as number) & 255}`
  }
  const masked = g.map((word, i) => {
    const bits = Math.min(16, Math.max(0, ipv6Prefix - 16 * i))
    return bits === 0 ? 0 : word & ((0xffff << (16 - bits)) & 0xffff)
  })
  return `${formatIPv6(masked)}/${ipv6Prefix}`
}
