import { sql, type Kysely } from 'kysely'
import type pg from 'pg'
import type { Medium } from '../synapse/canonical.js'
import type { Database } from './schema.js'
import { inviteKey, type Invite, type InviteFeed, type InviteFeedEvents, type InviteWatch } from './store.js'

// What the in-memory invite index (src/invites/index.ts) reads from PostgreSQL: every pending
// (medium, address) pair at once, and word of invites written by other connections. SQLite's
// feed is in src/store/sqlite-statements.ts: an idle SQLite server never loads kysely.

/** Channel of the invite notifications; the payload names the schema, as channels span the database */
export const INVITE_CHANNEL = 'regguard_invites'
// PostgreSQL refuses payloads of 8000 bytes or more; a bigger batch says "read everything again"
const MAX_PAYLOAD = 7000
const RECONNECT_MS = 1000
const CHECK_TIMEOUT_MS = 5000

export async function pendingKeys (db: Kysely<Database>, now: number): Promise<string[]> {
  const rows = await db.selectFrom('regguard_invites').select(['medium', 'address']).distinct()
    .where('revoked_at', 'is', null).where('expires_at', '>', now).execute()
  return rows.map((r) => inviteKey(r.medium as Medium, r.address))
}

/** Runs in each invite insert's transaction: delivered to every listener at commit, never before */
export async function notifyInvites (trx: Kysely<Database>, schema: string, invites: Invite[]): Promise<void> {
  let payload = JSON.stringify({ s: schema, k: invites.map((i) => inviteKey(i.medium, i.address)) })
  if (Buffer.byteLength(payload) > MAX_PAYLOAD) payload = JSON.stringify({ s: schema })
  await sql`SELECT pg_notify(${INVITE_CHANNEL}, ${payload})`.execute(trx)
}

function parsePayload (payload: string | undefined, schema: string): string[] | null | undefined {
  try {
    const p = JSON.parse(payload ?? '') as { s?: unknown, k?: unknown }
    if (p.s !== schema) return undefined
    return Array.isArray(p.k) && p.k.every((k) => typeof k === 'string') ? p.k as string[] : null
  } catch {
    return null
  }
}

/**
 * PostgreSQL: a connection of its own LISTENs (a pooled one would be handed to queries). A lost
 * connection reports down and is opened again every second; its 'error' is always handled, so a
 * failover never crashes the process.
 */
export function postgresFeed (db: Kysely<Database>, connectionString: string, schema: string, Client: typeof pg.Client): InviteFeed {
  return {
    pendingKeys: async (now) => await pendingKeys(db, now),
    watch (events: InviteFeedEvents): InviteWatch {
      let client: pg.Client | null = null
      let closed = false
      let retry: NodeJS.Timeout | undefined
      const drop = (c: pg.Client): void => {
        if (client !== c) return
        client = null
        events.up(false)
        c.end().catch(() => {})
        if (!closed) retry = setTimeout(start, RECONNECT_MS)
      }
      function start (): void {
        if (closed) return
        const c = new Client({ connectionString, keepAlive: true, keepAliveInitialDelayMillis: 10_000, connectionTimeoutMillis: 10_000 })
        client = c
        c.on('error', () => { drop(c) })
        c.on('end', () => { drop(c) })
        c.on('notification', (n) => {
          if (n.channel !== INVITE_CHANNEL) return
          const keys = parsePayload(n.payload, schema)
          if (keys !== undefined) events.written(keys)
        })
        c.connect()
          .then(async () => { await c.query(`LISTEN ${INVITE_CHANNEL}`) })
          .then(() => { if (client === c) events.up(true) }, () => { drop(c) })
      }
      start()
      return {
        async check () {
          const c = client
          if (c === null) return false
          let timer: NodeJS.Timeout | undefined
          try {
            await Promise.race([c.query('SELECT 1'), new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS) })])
            return true
          } catch {
            drop(c)
            return false
          } finally {
            clearTimeout(timer)
          }
        },
        async close () {
          closed = true
          clearTimeout(retry)
          const c = client
          client = null
          if (c !== null) await c.end().catch(() => {})
        }
      }
    }
  }
}
