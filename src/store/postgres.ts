import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { notifyInvites, postgresFeed } from './invite-feed.js'
import { kyselyStore, migrate } from './kysely-store.js'
import type { Database } from './schema.js'
import type { Store } from './store.js'

export interface PostgresTarget {
  connectionString: string
  /** From "?schema=name": tables live there (created if missing); lets tests run side by side */
  schema: string | null
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

export function postgresTarget (url: string): PostgresTarget {
  const u = new URL(url)
  const schema = u.searchParams.get('schema')
  u.searchParams.delete('schema')
  if (schema !== null && !SCHEMA_NAME.test(schema)) throw new Error(`schema ${JSON.stringify(schema)} is not a plain SQL identifier`)
  return { connectionString: u.toString(), schema }
}

export interface PostgresOptions {
  /**
   * After start-up, a query with no answer by then has its connection closed, so the pool opens
   * a fresh one, and a new connection must be ready by then: a server gone silent (failover
   * without a reset) would otherwise hold pooled connections until TCP keepalive gives up, many
   * minutes later. Start-up and migrations are not bounded by it.
   */
  queryTimeoutMs?: number
}

type Query = (...args: unknown[]) => unknown

/**
 * kysely's migrator lists the tables of every schema of the database; another application (or
 * another regguard) dropping its own schema at that moment fails the listing with "schema ...
 * does not exist". That is not about this store: try again, a few times.
 */
async function migrateDespiteOthers (db: Kysely<Database>, schema: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await migrate(db, 'postgres', schema)
      return
    } catch (err) {
      const other = /schema "([^"]+)" does not exist/.exec((err as Error).message)
      if (other === null || other[1] === schema || attempt >= 5) throw err
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt))
    }
  }
}

export async function openPostgres (url: string, opts: PostgresOptions = {}): Promise<Store> {
  const target = postgresTarget(url)
  const pool = new pg.Pool({
    connectionString: target.connectionString,
    max: 10,
    connectionTimeoutMillis: 10_000,
    // a server gone without closing the connection (failover, cable) is noticed in seconds
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(target.schema !== null ? { options: `-c search_path=${target.schema}` } : {})
  })
  // A lost connection (PostgreSQL restarted or failed over) makes its pg.Client emit 'error'.
  // pg-pool listens only while the client is idle (and re-emits it here); a client kysely has
  // checked out for a query has no listener, and the unhandled 'error' killed the process.
  // The query itself fails on its own, and pg-pool drops a client that is no longer queryable
  // when it is released, so the next query opens a fresh connection: nothing to do here but
  // keep the event from being unhandled.
  pool.on('error', () => {})
  let queryTimeoutMs = 0 // set once migrated
  pool.on('connect', (client) => {
    client.on('error', () => {})
    const query = client.query.bind(client) as Query
    ;(client as unknown as { query: Query }).query = (...args: unknown[]) => {
      const answer = query(...args)
      if (queryTimeoutMs > 0 && answer instanceof Promise) {
        // end() on a client with a query in flight destroys the socket; the query fails and
        // pg-pool drops the client when kysely releases it
        const timer = setTimeout(() => { client.end().catch(() => {}) }, queryTimeoutMs)
        answer.then(() => { clearTimeout(timer) }, () => { clearTimeout(timer) })
      }
      return answer
    }
  })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  try {
    if (target.schema !== null) {
      try {
        await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(target.schema)}`.execute(db)
      } catch (err) {
        // two instances creating it at the same moment: the loser sees a duplicate
        if ((err as { code?: string }).code !== '23505') throw err
      }
    }
    const current = await sql<{ s: string | null }>`SELECT current_schema() AS s`.execute(db)
    const schema = current.rows[0]?.s ?? null
    if (schema === null) throw new Error('no schema in search_path exists; add ?schema=NAME to the URL')
    // named explicitly: kysely otherwise finds its migration table in any schema of the database
    await migrateDespiteOthers(db, schema)
    queryTimeoutMs = opts.queryTimeoutMs ?? 0
    // a connection that cannot be set up by then (server silent) gives its pool slot back as
    // soon: otherwise a silent failover fills the pool with half-open connections
    if (queryTimeoutMs > 0) pool.options.connectionTimeoutMillis = Math.min(pool.options.connectionTimeoutMillis ?? queryTimeoutMs, queryTimeoutMs)
    const store = kyselyStore(db, 'postgres', { invitesWritten: async (trx, invites) => { await notifyInvites(trx, schema, invites) } })
    store.inviteFeed = postgresFeed(db, target.connectionString, schema, pg.Client)
    return store
  } catch (err) {
    await db.destroy().catch(() => {})
    throw err
  }
}
