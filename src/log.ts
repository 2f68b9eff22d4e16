import { createHash } from 'node:crypto'
import pino from 'pino'
import { unquoteToBytes } from './parse/twisted-args.js'
import type { Medium } from './policy/canonical.js'

export type Logger = pino.Logger

export function createLogger (level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { name: 'regguard' } }, destination ?? pino.destination({ fd: 1, sync: false }))
}

function shortHash (s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 12)
}

/** An address as it may appear in logs: the domain kept, the local part (or number) hashed. */
export function redactAddress (medium: Medium, address: string, full: boolean): string {
  if (full) return address
  if (medium === 'email') {
    const at = address.lastIndexOf('@')
    return `${shortHash(address.slice(0, at))}@${address.slice(at + 1)}`
  }
  return `msisdn:${shortHash(address)}`
}

const REDACTED = '<redacted>'

// Path segments after these carry a secret: the registration token in Synapse's admin API
// (/_synapse/admin/v1/registration_tokens/<token>) and the MSC4108 rendezvous session, whose id
// is the capability (/_synapse/client/rendezvous/<id>). Matched percent-decoded and
// case-insensitively, wider than Synapse routes.
const SECRET_AFTER = new Set(['registration_tokens', 'rendezvous'])

function redactPath (path: string): string {
  const segments = path.split('/')
  const at = segments.findIndex((s) => SECRET_AFTER.has(unquoteToBytes(s).toLowerCase()))
  if (at === -1 || at === segments.length - 1) return path
  return [...segments.slice(0, at + 1), REDACTED].join('/')
}

/**
 * A request target fit for logs. Every query value is dropped, whatever its name: Twisted
 * decodes names (%61ccess_token is access_token) and splits on ";" as on "&", and Synapse's
 * secrets go by many names (access_token, client_secret, sid, token, loginToken, password,
 * next_link, code...), so a list of names to redact would always be one short. Names stay as
 * sent, split exactly as Twisted splits them; a piece without "=" (no argument to Twisted) is
 * dropped too. Path segments that carry a secret are dropped as well.
 */
export function redactTarget (target: string): string {
  const q = target.indexOf('?')
  if (q === -1) return redactPath(target)
  const query = target.slice(q + 1).replace(/[^&;]+/g, (item) => {
    const eq = item.indexOf('=')
    if (eq === -1) return REDACTED
    return eq === item.length - 1 ? item : item.slice(0, eq + 1) + REDACTED
  })
  return `${redactPath(target.slice(0, q))}?${query}`
}
