import { isIP } from 'node:net'

export interface DnsServer { host: string, port: number }

/** "IP", "IP:PORT", "[IPv6]" or "[IPv6]:PORT" (as node:dns getServers() writes them), or null. */
export function parseServer (s: string): DnsServer | null {
  const text = s.trim()
  let host = text
  let port = 53
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  if (bracket !== null) {
    host = bracket[1] as string
    if (bracket[2] !== undefined) port = Number(bracket[2])
  } else if (isIP(text) !== 6) {
    const m = /^([^:]+):(\d+)$/.exec(text)
    if (m !== null) { host = m[1] as string; port = Number(m[2]) }
  }
  if (isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) return null
  return { host, port }
}
