import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto'
import pino from 'pino'
import { unquoteToBytes } from './synapse/twisted-args.js'
import type { Medium } from './synapse/canonical.js'
import type { Store } from './store/store.js'

export type Logger = pino.Logger

export function createLogger (level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { name: 'regguard' } }, destination ?? pino.destination({ fd: 1, sync: false }))
}

// Addresses in logs are keyed hashes: stable, so lines about one address can be correlated,
// but not reversible by hashing every phone number (a plain hash of a 10-digit space is).
export const HASH_KEY_SECRET = 'log.hash_key'

/**
 * log.hash_key, or (when empty) the key generated once and kept in the store for every
 * instance; as a KeyObject, which HMACs in about two thirds of the time a string key takes.
 */
export async function loadHashKey (configured: string, store: Store): Promise<KeyObject> {
  const key = configured !== '' ? configured : await store.secret(HASH_KEY_SECRET, () => randomBytes(32).toString('base64url'))
  return createSecretKey(Buffer.from(key, 'utf8'))
}

/** HMAC-SHA-256 under `key` of the medium and the part hashed, 12 hex digits (48 bits: ample to correlate lines; the key, not the length, stops reversing). */
export function keyedHash (key: KeyObject, medium: Medium, part: string): string {
  return createHmac('sha256', key).update(`${medium}\0${part}`).digest('hex').slice(0, 12)
}

/**
 * An address as it may appear in logs: the domain kept, the local part (or number) a keyed
 * hash. Without a key (start-up has not loaded it) nothing of the address is shown.
 */
export function redactAddress (medium: Medium, address: string, full: boolean, key: KeyObject | null): string {
  if (full) return address
  if (key === null) return '<redacted>'
  if (medium === 'email') {
    const at = address.lastIndexOf('@')
    return `${keyedHash(key, medium, address.slice(0, at))}@${address.slice(at + 1)}`
  }
  return `msisdn:${keyedHash(key, medium, address)}`
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
