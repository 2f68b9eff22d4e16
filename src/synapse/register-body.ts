import type { Medium } from './canonical.js'
import { parseJsonObject } from './token-request.js'

// Reads what a POST /register says about user-interactive auth, for the back-door checks:
// which stage it submits, in which UIA session, and which 3PID validation session it claims.

// a Map: auth.type is the client's, and "constructor" must not find Object's
export const THREEPID_STAGE: ReadonlyMap<string, Medium> = new Map([
  ['m.login.email.identity', 'email'],
  ['m.login.msisdn', 'msisdn']
])
export const APPSERVICE_STAGE = 'm.login.application_service'

export interface ThreepidCreds { sid: string, clientSecret: string }

export interface RegisterAuth {
  /** auth.type, or null when the request carries no auth (it asks for the flows) */
  type: string | null
  /** the UIA session id, when given */
  session: string | null
  /**
   * Every set of 3PID credentials the request carries, under any spelling Synapse has read
   * (threepid_creds, threePidCreds, threepidCreds): each one must pass, so a second spelling
   * cannot smuggle an unchecked session past the check.
   */
  creds: ThreepidCreds[]
  /** A spelling was present but not a {sid, client_secret} pair of strings */
  malformedCreds: boolean
}

export type RegisterRequest =
  | { ok: true, auth: RegisterAuth }
  /** Not a JSON object: Synapse cannot read it either, so it can create nothing */
  | { ok: false }

const CRED_KEYS = ['threepid_creds', 'threePidCreds', 'threepidCreds']

export function parseRegisterRequest (bytes: Uint8Array): RegisterRequest {
  const parsed = parseJsonObject(bytes)
  if (!parsed.ok) return { ok: false }
  const auth = parsed.value.auth
  const out: RegisterAuth = { type: null, session: null, creds: [], malformedCreds: false }
  if (auth === null || typeof auth !== 'object' || Array.isArray(auth)) return { ok: true, auth: out }
  const a = auth as Record<string, unknown>
  out.type = typeof a.type === 'string' ? a.type : null
  out.session = typeof a.session === 'string' ? a.session : null
  for (const key of CRED_KEYS) {
    if (!Object.prototype.hasOwnProperty.call(a, key)) continue
    const c = a[key] as Record<string, unknown> | null
    if (c !== null && typeof c === 'object' && typeof c.sid === 'string' && typeof c.client_secret === 'string') {
      out.creds.push({ sid: c.sid, clientSecret: c.client_secret })
    } else {
      out.malformedCreds = true
    }
  }
  return { ok: true, auth: out }
}
