import { isUtf8 } from 'node:buffer'
import { missingParamsMessage, type MatrixErrorName } from '../errors.js'
import { canonicalEmail, canonicalMsisdn, type Medium } from './canonical.js'

// Reads a requestToken body the way Synapse does (synapse/rest/client/register.py and
// account.py, checked in order) so a malformed request gets Synapse's own answer.

export type TokenRequest =
  | { ok: true, medium: Medium, address: string, clientSecret: string, body: Record<string, unknown> }
  | { ok: false, error: MatrixErrorName, message?: string }

const REQUIRED: Record<Medium, string[]> = {
  email: ['client_secret', 'email', 'send_attempt'],
  msisdn: ['client_secret', 'country', 'phone_number', 'send_attempt']
}

// Python's re.match with "$" also accepts one trailing newline; Synapse's check inherits that.
const CLIENT_SECRET = /^[0-9a-zA-Z.=_-]+\n?$/

/** Synapse's parse_json_object_from_request: strict UTF-8, JSON, an object. */
export function parseJsonObject (bytes: Uint8Array): { ok: true, value: Record<string, unknown> } | { ok: false, error: MatrixErrorName } {
  let value: unknown
  // strict UTF-8 (no surrogates, overlongs or code points past U+10FFFF, as Python's decoder);
  // a Buffer decodes a BOM as U+FEFF and keeps it, where JSON.parse refuses it as Python does
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (!isUtf8(buf)) return { ok: false, error: 'NOT_JSON' }
  try {
    value = JSON.parse(buf.toString('utf8'))
  } catch {
    return { ok: false, error: 'NOT_JSON' }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, error: 'BAD_JSON' }
  return { ok: true, value: value as Record<string, unknown> }
}

export function validClientSecret (v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 255 && CLIENT_SECRET.test(v)
}

export function parseTokenRequest (medium: Medium, bytes: Uint8Array): TokenRequest {
  const parsed = parseJsonObject(bytes)
  if (!parsed.ok) return parsed
  const body = parsed.value
  const absent = REQUIRED[medium].filter((k) => !Object.prototype.hasOwnProperty.call(body, k))
  if (absent.length > 0) return { ok: false, error: 'MISSING_PARAM', message: missingParamsMessage(absent) }
  if (!validClientSecret(body.client_secret)) return { ok: false, error: 'INVALID_CLIENT_SECRET' }
  const canonical = medium === 'email' ? canonicalEmail(body.email) : canonicalMsisdn(body.country, body.phone_number)
  if (!canonical.ok) return { ok: false, error: medium === 'email' ? 'BAD_EMAIL' : 'BAD_PHONE' }
  return { ok: true, medium, address: canonical.address, clientSecret: body.client_secret, body }
}
