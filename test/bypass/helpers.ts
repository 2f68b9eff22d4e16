import { domainToUnicode } from 'node:url'
import { startHomeserver, type Homeserver, type Received } from '../helpers/homeserver.js'
import { rawRequest, type RawResponse } from '../helpers/raw-http.js'
import { startRegguard, type Started } from '../helpers/regguard.js'
import { synapseRoutesToken } from '../helpers/synapse-routes.js'

// Shared by the bypass matrix (issue 4, section 3): one policy, one judge of what Synapse would
// route, and one leak detector that looks at what the stand-in homeserver actually received.

type Teardown = { teardown: (fn: () => unknown) => void }
type Asserts = { equal: (a: unknown, b: unknown, msg?: string) => unknown, same: (a: unknown, b: unknown, msg?: string) => unknown, ok: (v: unknown, msg?: string) => unknown }

export const PREFIXES = ['r0', 'v3', 'unstable'] as const
export const ENDPOINTS = ['register', 'account/3pid'] as const
export const MEDIA = ['email', 'msisdn'] as const
export type Medium = typeof MEDIA[number]

export function tokenPath (prefix: string, endpoint: string, medium: string): string {
  return `/_matrix/client/${prefix}/${endpoint}/${medium}/requestToken`
}

/** Every policed path, as Synapse routes it. */
export const TOKEN_PATHS: Array<{ path: string, medium: Medium, endpoint: string, prefix: string }> =
  PREFIXES.flatMap((prefix) => ENDPOINTS.flatMap((endpoint) => MEDIA.map((medium) => ({ path: tokenPath(prefix, endpoint, medium), medium, endpoint, prefix }))))

export const TOKEN = tokenPath('v3', 'register', 'email')

// Allowed by default, so each denial below is the blacklist's doing and a spelling that slipped
// past it would be forwarded (and caught here) rather than denied by the default.
export const POLICY = {
  register: {
    policy: {
      allowed: true,
      threepid: {
        email: { domain: { blacklist: ['*evil.example', 'bücher.example', 'xn--mnchen-3ya.example'] } },
        msisdn: { pattern: { blacklist: ['44\\d+'] } }
      }
    }
  }
}

export const DENIED_EMAIL = 'eve@evil.example'
export const ALLOWED_EMAIL = 'alice@example.org'

export function emailBody (email: unknown, clientSecret = 'cs'): string {
  return JSON.stringify({ client_secret: clientSecret, email, send_attempt: 1 })
}

/** GB numbers are blacklisted (447...), French ones are not. */
export function msisdnBody (denied: boolean, clientSecret = 'cs'): string {
  return JSON.stringify(denied
    ? { client_secret: clientSecret, country: 'GB', phone_number: '07700 900123', send_attempt: 1 }
    : { client_secret: clientSecret, country: 'FR', phone_number: '06 12 34 56 78', send_attempt: 1 })
}

export function bodyFor (medium: Medium, denied: boolean): string {
  return medium === 'email' ? emailBody(denied ? DENIED_EMAIL : ALLOWED_EMAIL) : msisdnBody(denied)
}

export { synapseRoutesToken }

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Would Synapse, reading this body as it does (strict UTF-8, JSON, last duplicate key wins),
 * find a blacklisted address in it? Judged generously (compatibility forms, IDN, case, dots,
 * whitespace folded away) so it flags anything that even resembles a denied address.
 */
export function looksDenied (body: Buffer): boolean {
  let v: unknown
  try { v = JSON.parse(utf8.decode(body)) } catch { return false }
  if (v === null || typeof v !== 'object') return false
  const o = v as Record<string, unknown>
  if (typeof o.email === 'string') {
    const domain = o.email.normalize('NFKC').toLowerCase().split('@').pop() ?? ''
    const d = domainToUnicode(domain.trim().replace(/[\s\u200b\u00ad]/g, '')).normalize('NFKC').replace(/\.+$/, '')
    if (/(^|\.)evil\.example$/.test(d) || d === 'bücher.example' || d === 'münchen.example') return true
  }
  if (typeof o.phone_number === 'string') {
    const digits = o.phone_number.normalize('NFKC').replace(/\D/g, '')
    if (o.country === 'GB' || digits.startsWith('44')) return true
  }
  return false
}

/** The leak check every bypass test ends with: no policed request with a denied address arrived. */
export function assertNoDeniedArrived (t: Asserts, hs: Homeserver, label = ''): void {
  const leaked = hs.received.filter((r) => synapseRoutesToken(r.url) && looksDenied(r.body))
  t.same(leaked.map((r) => `${r.url} ${r.body.toString()}`), [], `${label}${label === '' ? '' : ': '}no denied requestToken reached the homeserver`)
}

export function policedArrivals (hs: Homeserver): Received[] {
  return hs.received.filter((r) => synapseRoutesToken(r.url))
}

export async function setup (t: Teardown, config: Record<string, unknown> = POLICY): Promise<{ hs: Homeserver, rg: Started }> {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, config)
  return { hs, rg }
}

/** A whole request with the given head lines (request line first) and body, Connection: close added. */
export function rawHttp (lines: string[], body: string | Buffer = ''): Buffer {
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), typeof body === 'string' ? Buffer.from(body) : body])
}

export function post (port: number, lines: string[], body: string | Buffer = '', timeoutMs = 3000): Promise<RawResponse> {
  return rawRequest(port, rawHttp(lines, body), timeoutMs)
}

export function chunkedBody (body: string | Buffer, pieceSize: number, extension = ''): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body
  const parts: Buffer[] = []
  for (let i = 0; i < b.length; i += pieceSize) {
    const piece = b.subarray(i, i + pieceSize)
    parts.push(Buffer.from(`${piece.length.toString(16)}${extension}\r\n`, 'latin1'), piece, Buffer.from('\r\n'))
  }
  parts.push(Buffer.from('0\r\n\r\n'))
  return Buffer.concat(parts)
}

export function errcode (res: RawResponse): unknown {
  try { return (JSON.parse(res.body) as { errcode?: unknown }).errcode } catch { return undefined }
}

export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * A rate-limit window (at least an hour) whose fixed-window boundary is minutes away, so a
 * test's hits all land in one window however the clock falls.
 */
export function safeWindow (minMs = 3_600_000, marginMs = 120_000): number {
  const now = Date.now()
  for (let w = minMs; ; w += 1000) {
    if (w - (now % w) > marginMs) return w
  }
}

/** An address nobody else uses: shared counters (Redis, a shared store) outlive a test run. */
export function uniqueIp (): string {
  const r = (): string => Math.floor(Math.random() * 0x10000).toString(16)
  return `2001:db8:${r()}:${r()}:${r()}:${r()}:${r()}:${r()}`
}
