// Every call to regguard's admin API goes through here, with the admin token as a bearer
// header. The token lives in this tab's sessionStorage only: closing the tab forgets it, and no
// cookie exists for another site to ride.

export const API = '/_regguard/admin/v1'
const KEY = 'regguard.admin.token'

export function savedToken (): string | null { return sessionStorage.getItem(KEY) }
export function saveToken (token: string): void { sessionStorage.setItem(KEY, token) }
export function forgetToken (): void { sessionStorage.removeItem(KEY) }

export class ApiError extends Error {
  constructor (readonly status: number, readonly errcode: string, message: string) { super(message) }
  /** The endpoint is not in this regguard (an older build, or a feature not merged yet). */
  get unsupported (): boolean { return this.status === 404 && this.errcode === 'M_UNRECOGNIZED' }
}

let onUnauthorized: () => void = () => {}
export function whenUnauthorized (f: () => void): void { onUnauthorized = f }

export async function call<T> (method: string, path: string, opts: { body?: BodyInit, type?: string, token?: string } = {}): Promise<T> {
  const token = opts.token ?? savedToken() ?? ''
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` }
  if (opts.type !== undefined) headers['Content-Type'] = opts.type
  const res = await fetch(path.startsWith('/') ? path : `${API}/${path}`, { method, headers, body: opts.body, credentials: 'omit', cache: 'no-store' })
  const text = await res.text()
  let body: any = null
  try { body = text === '' ? null : JSON.parse(text) } catch { /* not JSON: reported below */ }
  if (!res.ok) {
    const err = new ApiError(res.status, body?.errcode ?? 'M_UNKNOWN', body?.error ?? `HTTP ${res.status}`)
    if (res.status === 401 && opts.token === undefined) onUnauthorized()
    throw err
  }
  return body as T
}

export const get = async <T>(path: string, params: Record<string, string | undefined> = {}): Promise<T> => {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v)
  const s = q.toString()
  return await call<T>('GET', s === '' ? path : `${path}?${s}`)
}

export const postJson = async <T>(path: string, body: unknown): Promise<T> =>
  await call<T>('POST', path, { body: JSON.stringify(body), type: 'application/json' })

// --- what the API answers (docs/admin-api.md) ---

export interface Decision {
  id: string
  at: number
  endpoint: string
  medium: string
  result: 'allow' | 'deny'
  rule: string
  detail: string
  client_ip: string
  address: string | null
  domain: string | null
  /** Identical decisions folded into this row (1 for most) */
  count: number
}

export interface Bucket { hour: number, result: string, rule: string, count: number }
export interface Summary {
  from: number
  to: number
  hours: number
  buckets: Bucket[]
  history: { queued: number, dropped: number, written: number, retention_ms: number }
}

export interface Invite {
  id: string
  medium: string
  address: string
  room_id: string | null
  source: string
  created_at: number
  expires_at: number
  revoked_at: number | null
  /** Present once regguard records who invited (the invites branch) */
  inviter?: string | null
}

export interface Side { domains: number, domain_sources: string[], patterns: string[] }
export interface Policy {
  allowed: boolean
  invite: boolean
  /** ma1sd's order: a pending invite before the blacklists */
  invite_overrides_blacklist?: boolean
  only_check_at_registration: boolean
  require_3pid: boolean
  email: { whitelist: Side, blacklist: Side }
  msisdn: { whitelist: Side, blacklist: Side }
  rate_limit: { per_ip: { max: number, window: number }, per_address: { max: number, window: number } } | null
  invites_ttl_ms: number
  audit_retention_ms: number
  full_addresses: boolean
  server_name: string
  config_file: string | null
  /** Present once username rules exist (the userrules branch) */
  username?: unknown
}

export interface Check { medium: string, address: string, allowed: boolean, rule: string, detail: string, description: string }

/** /ready is public (no token) and answers 503 when not ready: both carry the same body. */
export async function readiness (): Promise<Record<string, unknown>> {
  const res = await fetch('/ready', { cache: 'no-store', credentials: 'omit' })
  return await res.json() as Record<string, unknown>
}
