import { createHash } from 'node:crypto'
import type { Dispatcher } from 'undici'
import type { Requester } from '../invites/txn-keys.js'

// Who is making a request, and what the homeserver's admin API says about that user: asked of
// the homeserver itself, through regguard's connection pool, so learned invites name the
// requester Synapse acts for.

/** Most whoami answers remembered; past this the cache starts again (a flood cannot grow it). */
const WHOAMI_CACHE_MAX = 10_000
export const WHOAMI_CACHE_MS = 5 * 60_000
const ANSWER_LIMIT = 64 * 1024

/** A query component for bytes held one char per byte (request arguments are bytes). */
function encodeBytes (latin1: string): string {
  let out = ''
  for (const byte of Buffer.from(latin1, 'latin1')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : '%' + byte.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

async function getJson (pool: Dispatcher, path: string, token: string, timeoutMs: number): Promise<{ status: number, body: unknown } | null> {
  try {
    const res = await pool.request({
      method: 'GET',
      path,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs
    })
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length
      if (size > ANSWER_LIMIT) { res.body.destroy(); return null }
      chunks.push(chunk as Buffer)
    }
    const text = Buffer.concat(chunks).toString('utf8')
    try {
      return { status: res.statusCode, body: JSON.parse(text) }
    } catch (err) {
      if (err instanceof SyntaxError) return { status: res.statusCode, body: null }
      throw err
    }
  } catch (err) {
    // the homeserver would not say (unreachable, reset, timed out): the caller learns nothing.
    // Anything else is a fault of regguard's and goes up to be logged (a TypeError here once hid
    // a dead feature).
    if (isExchangeFailure(err)) return null
    throw err
  }
}

/** undici's and the network's failures, and the deadline's abort: what a round trip may end in */
function isExchangeFailure (err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return true
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && (code.startsWith('UND_ERR') || /^E[A-Z]+$/.test(code))
}

export interface WhoamiArgs {
  /** An appservice's masquerading arguments, passed on so the answer is the user Synapse acts for */
  user_id?: string
  device_id?: string
}

export class WhoamiClient {
  private readonly cache = new Map<string, { who: Requester, until: number }>()

  constructor (private readonly pool: Dispatcher, private readonly timeoutMs: () => number) {}

  /** The requester for this token (and masquerading arguments), or null when the homeserver will not say. */
  async whoami (token: string, args: WhoamiArgs, now = Date.now()): Promise<Requester | null> {
    const key = createHash('sha256').update(JSON.stringify([token, args.user_id ?? null, args.device_id ?? null])).digest('hex')
    const hit = this.cache.get(key)
    if (hit !== undefined && hit.until > now) return hit.who
    const query: string[] = []
    if (args.user_id !== undefined) query.push(`user_id=${encodeBytes(args.user_id)}`)
    if (args.device_id !== undefined) query.push(`org.matrix.msc3202.device_id=${encodeBytes(args.device_id)}`)
    const answer = await getJson(this.pool, '/_matrix/client/v3/account/whoami' + (query.length > 0 ? '?' + query.join('&') : ''), token, this.timeoutMs())
    if (answer === null || answer.status !== 200 || answer.body === null || typeof answer.body !== 'object') return null
    const b = answer.body as Record<string, unknown>
    if (typeof b.user_id !== 'string' || !b.user_id.startsWith('@')) return null
    const who: Requester = {
      user_id: b.user_id,
      device_id: typeof b.device_id === 'string' ? b.device_id : null,
      is_guest: b.is_guest === true
    }
    if (this.cache.size >= WHOAMI_CACHE_MAX) this.cache.clear()
    this.cache.set(key, { who, until: now + WHOAMI_CACHE_MS })
    return who
  }
}

export type AccountStanding = 'ok' | 'deactivated' | 'shadow-banned' | 'unknown'

/**
 * GET /_synapse/admin/v2/users/{userId} with a Synapse admin's token. 'unknown' when the
 * answer is not a user with `deactivated` and `shadow_banned` (older Synapse versions lack the
 * latter): the caller then learns nothing. Synapse 1.67 sends both as the database has them, 0
 * or 1 (SQLite) or booleans (PostgreSQL), so either is read.
 */
function flag (v: unknown): boolean | null {
  if (typeof v === 'boolean') return v
  if (v === 0 || v === 1) return v === 1
  return null
}

export async function accountStanding (pool: Dispatcher, adminToken: string, userId: string, timeoutMs: number): Promise<AccountStanding> {
  const answer = await getJson(pool, `/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, adminToken, timeoutMs)
  if (answer === null || answer.status !== 200 || answer.body === null || typeof answer.body !== 'object') return 'unknown'
  const b = answer.body as Record<string, unknown>
  const deactivated = flag(b.deactivated)
  const shadowBanned = flag(b.shadow_banned)
  if (deactivated === null || shadowBanned === null) return 'unknown'
  if (deactivated) return 'deactivated'
  if (shadowBanned) return 'shadow-banned'
  return 'ok'
}
