import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto'
import pino from 'pino'
import { unquoteToBytes } from './synapse/twisted-args.js'
import type { Medium } from './synapse/canonical.js'
import type { Store } from './store/store.js'

export type Logger = pino.Logger

export function createLogger (level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { name: 'regguard' }, formatters: { log: boundLogFields } }, destination ?? pino.destination({ fd: 1, sync: false }))
}

/**
 * Longest text a log line's field or a history row's field holds. Much of what is logged comes
 * from the client (a stage type, a User-Agent, a detail quoting either), and a line or a row as
 * long as a request body lets a flood fill the disk.
 */
export const MAX_FIELD_CHARS = 256

/**
 * `text` when it is at most `max` characters; else its start and "…[cut N]" (N: the characters
 * left out), `max` characters in all, never splitting a surrogate pair.
 */
export function bounded (text: string, max = MAX_FIELD_CHARS): string {
  if (text.length <= max) return text
  // the marker's length depends on how much it says was cut: shorten until the two agree
  for (let keep = max; ;) {
    const marker = `…[cut ${text.length - keep}]`
    let k = Math.max(0, max - marker.length)
    const code = text.charCodeAt(k - 1)
    if (k > 0 && code >= 0xd800 && code <= 0xdbff) k--
    // a copy, not a slice: V8 keeps a slice's whole parent alive (a queued history row would
    // hold the 60 KB it was cut from)
    if (k === keep) return Buffer.from(text.slice(0, k) + marker, 'utf16le').toString('utf16le')
    keep = k
  }
}

/**
 * pino's log formatter: every string field of a line (and every string in an array field) is
 * bounded. Objects (an error, its stack) are left to their serializers.
 */
function boundLogFields (fields: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | null = null
  for (const key in fields) {
    const v = fields[key]
    let b: unknown = v
    if (typeof v === 'string') {
      if (v.length > MAX_FIELD_CHARS) b = bounded(v)
    } else if (Array.isArray(v) && v.some((x) => typeof x === 'string' && x.length > MAX_FIELD_CHARS)) {
      b = v.map((x: unknown) => typeof x === 'string' ? bounded(x) : x)
    }
    if (b !== v) {
      out ??= { ...fields }
      out[key] = b
    }
  }
  return out ?? fields
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
