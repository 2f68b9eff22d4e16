import { Migrator, sql, type Kysely } from 'kysely'
import { kyselyDecisions } from './decisions-store.js'
import { kyselyRegistrations, kyselyUia } from './registrations-store.js'
import { kyselyAccessRequests } from './access-requests-store.js'
import { migrations, type Dialect } from './migrations.js'
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, type Database } from './schema.js'
import { InvalidPageToken, pageTokens } from './page-token.js'
import { toInvite, toSession } from './rows.js'
import type { Invite, NewInvite, Store } from './store.js'

// The Store over kysely, the same SQL for SQLite and PostgreSQL. Only the connection set-up
// (sqlite.ts, postgres.ts) differs.

const ID = /^[1-9][0-9]{0,14}$/

const invitePages = pageTokens('i')
// newest-first pages run the other way: their tokens are their own
const newestInvitePages = pageTokens('in')

export { InvalidPageToken }

export async function migrate (db: Kysely<Database>, dialect: Dialect, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(dialect) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    ...(schema !== undefined ? { migrationTableSchema: schema } : {})
  })
  const { error, results } = await migrator.migrateToLatest()
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName
    throw new Error(`schema migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`)
  }
}

export interface StoreHooks {
  /** Runs in the transaction of each invite insert (PostgreSQL: NOTIFY, so other instances learn of it at commit) */
  invitesWritten?: (trx: Kysely<Database>, invites: Invite[]) => Promise<void>
}

export function kyselyStore (db: Kysely<Database>, kind: Dialect, hooks: StoreHooks = {}): Store {
  const written = hooks.invitesWritten
  const insertValues = (i: NewInvite, now: number) => ({
    medium: i.medium,
    address: i.address,
    room_id: i.room_id,
    source: i.source,
    created_at: i.created_at ?? now,
    expires_at: i.expires_at,
    revoked_at: null,
    inviter: i.inviter ?? null
  })
  return {
    kind,
    decisions: kyselyDecisions(db),
    uia: kyselyUia(db),
    registrations: kyselyRegistrations(db),
    accessRequests: kyselyAccessRequests(db),
    invites: {
      async add (invite) {
        const insert = async (q: Kysely<Database>): Promise<Invite> =>
          toInvite(await q.insertInto('regguard_invites').values(insertValues(invite, Date.now())).returningAll().executeTakeFirstOrThrow())
        if (written === undefined) return await insert(db)
        return await db.transaction().execute(async (trx) => {
          const out = await insert(trx)
          await written(trx, [out])
          return out
        })
      },
      async addMany (invites) {
        if (invites.length === 0) return []
        const now = Date.now()
        return await db.transaction().execute(async (trx) => {
          const out: Invite[] = []
          for (const invite of invites) {
            out.push(toInvite(await trx.insertInto('regguard_invites').values(insertValues(invite, now)).returningAll().executeTakeFirstOrThrow()))
          }
          if (written !== undefined) await written(trx, out)
          return out
        })
      },
      async findPending (medium, address, now) {
        const row = await db.selectFrom('regguard_invites').selectAll()
          .where('medium', '=', medium).where('address', '=', address)
          .where('revoked_at', 'is', null).where('expires_at', '>', now)
          .orderBy('id', 'desc').limit(1).executeTakeFirst()
        return row === undefined ? null : toInvite(row)
      },
      async list (query) {
        let q = db.selectFrom('regguard_invites').selectAll()
        if (query.medium !== undefined) q = q.where('medium', '=', query.medium)
        if (query.address !== undefined) q = q.where('address', '=', query.address)
        if (query.inviter !== undefined) q = q.where('inviter', '=', query.inviter)
        const newest = query.newestFirst === true
        const pages = newest ? newestInvitePages : invitePages
        if (query.from !== undefined) {
          const after = pages.decode(query.from)
          if (after === null) throw new InvalidPageToken('invalid page token')
          q = q.where('id', newest ? '<' : '>', after)
        }
        const rows = await q.orderBy('id', newest ? 'desc' : 'asc').limit(query.limit + 1).execute()
        const invites = rows.slice(0, query.limit).map(toInvite)
        const last = invites[invites.length - 1]
        return rows.length > query.limit && last !== undefined ? { invites, next: pages.encode(last.id) } : { invites }
      },
      async get (id) {
        if (!ID.test(id)) return null
        const row = await db.selectFrom('regguard_invites').selectAll().where('id', '=', Number(id)).executeTakeFirst()
        return row === undefined ? null : toInvite(row)
      },
      async revoke (id, now = Date.now()) {
        if (!ID.test(id)) return false
        const r = await db.updateTable('regguard_invites')
          .set({ revoked_at: sql<number>`coalesce(revoked_at, ${now})` })
          .where('id', '=', Number(id)).executeTakeFirst()
        return Number(r.numUpdatedRows) > 0
      },
      async revokeByInviter (inviter, now = Date.now()) {
        const r = await db.updateTable('regguard_invites').set({ revoked_at: now })
          .where('inviter', '=', inviter).where('revoked_at', 'is', null).executeTakeFirst()
        return Number(r.numUpdatedRows)
      },
      async countByInviter (inviter, since) {
        const row = await db.selectFrom('regguard_invites').select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where('inviter', '=', inviter).where('created_at', '>=', since).executeTakeFirstOrThrow()
        return Number(row.n)
      }
    },
    txns: {
      async claim (keys, claim, now, ttlMs) {
        let first = true
        // each key in its own statement: the database serialises concurrent claims of one row
        for (const key of keys) {
          const row = await db.insertInto('regguard_txns')
            .values({ key, claim, state: 'running', first_seen: now, expires_at: now + ttlMs })
            .onConflict((oc) => oc.column('key').doUpdateSet({
              // forgotten (expired, not yet swept): as if new; else a request still running
              // at the homeserver is contested, and this one is not the first
              claim: sql<string>`CASE WHEN regguard_txns.expires_at <= ${now} THEN excluded.claim ELSE regguard_txns.claim END`,
              state: sql<string>`CASE WHEN regguard_txns.expires_at <= ${now} THEN 'running' WHEN regguard_txns.state = 'running' THEN 'contested' ELSE regguard_txns.state END`,
              first_seen: sql<number>`CASE WHEN regguard_txns.expires_at <= ${now} THEN excluded.first_seen ELSE regguard_txns.first_seen END`,
              expires_at: sql<number>`CASE WHEN regguard_txns.expires_at <= ${now} THEN excluded.expires_at ELSE regguard_txns.expires_at END`
            }))
            .returning('claim').executeTakeFirstOrThrow()
          if (row.claim !== claim) first = false
        }
        return first
      },
      async finish (keys, claim) {
        let clean = true
        for (const key of keys) {
          const r = await db.updateTable('regguard_txns').set({ state: 'done' })
            .where('key', '=', key).where('claim', '=', claim).where('state', '=', 'running').executeTakeFirst()
          if (Number(r.numUpdatedRows) !== 1) clean = false
        }
        if (!clean) await db.updateTable('regguard_txns').set({ state: 'done' }).where('key', 'in', keys).where('claim', '=', claim).execute()
        return clean
      },
      async release (keys, claim) {
        if (keys.length === 0) return
        await db.deleteFrom('regguard_txns').where('key', 'in', keys).where('claim', '=', claim).execute()
      }
    },
    sessions: {
      async put (s) {
        const values = { ...s, created_at: Date.now() }
        await db.insertInto('regguard_sessions').values(values)
          .onConflict((oc) => oc.columns(['client_secret', 'sid']).doUpdateSet({
            medium: s.medium, address: s.address, endpoint: s.endpoint, created_at: values.created_at, expires_at: s.expires_at
          }))
          .execute()
      },
      async get (clientSecret, sid, now) {
        const row = await db.selectFrom('regguard_sessions').selectAll()
          .where('client_secret', '=', clientSecret).where('sid', '=', sid).where('expires_at', '>', now)
          .executeTakeFirst()
        return row === undefined ? null : toSession(row)
      }
    },
    rateLimits: {
      async hit (key, windowMs, now) {
        const windowStart = Math.floor(now / windowMs) * windowMs
        // one upsert: a newer window restarts the count, the same (or, with clock skew, an
        // older) one adds to it; the database serialises concurrent hits on the row
        const row = await db.insertInto('regguard_rate_limits')
          .values({ key, window_start: windowStart, count: 1 })
          .onConflict((oc) => oc.column('key').doUpdateSet({
            count: sql<number>`CASE WHEN excluded.window_start > regguard_rate_limits.window_start THEN 1 ELSE regguard_rate_limits.count + 1 END`,
            window_start: sql<number>`CASE WHEN excluded.window_start > regguard_rate_limits.window_start THEN excluded.window_start ELSE regguard_rate_limits.window_start END`
          }))
          .returning('count').executeTakeFirstOrThrow()
        return Number(row.count)
      }
    },
    async sweep (now, rateLimitHorizonMs) {
      const sessions = await db.deleteFrom('regguard_sessions').where('expires_at', '<=', now).executeTakeFirst()
      const rateLimits = await db.deleteFrom('regguard_rate_limits').where('window_start', '<', now - rateLimitHorizonMs).executeTakeFirst()
      const txns = await db.deleteFrom('regguard_txns').where('expires_at', '<=', now).executeTakeFirst()
      return { sessions: Number(sessions.numDeletedRows), rateLimits: Number(rateLimits.numDeletedRows), txns: Number(txns.numDeletedRows) }
    },
    async ping () { await sql`SELECT 1`.execute(db) },
    async secret (name, make) {
      const stored = async (): Promise<string | undefined> =>
        (await db.selectFrom('regguard_secrets').select('value').where('name', '=', name).executeTakeFirst())?.value
      const found = await stored()
      if (found !== undefined) return found
      // a concurrent first insert wins; everyone then reads the winner's value
      await db.insertInto('regguard_secrets').values({ name, value: make(), created_at: Date.now() })
        .onConflict((oc) => oc.column('name').doNothing()).execute()
      const value = await stored()
      if (value === undefined) throw new Error(`secret ${name} could not be stored`)
      return value
    },
    async close () { await db.destroy() }
  }
}
