import BetterSqlite3 from 'better-sqlite3'
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { migrations } from '../../src/store/migrations.js'
import { openStore } from '../../src/store/open.js'
import { postgresTarget } from '../../src/store/postgres.js'
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from '../../src/store/schema.js'
import { BACKENDS, storageUrl, tempDir } from '../store/backends.js'

// A database made by a regguard that had only migration 0001: its invites keep allowing their
// addresses after the upgrade, with no inviter.

const ONLY_0001 = (dialect: 'sqlite' | 'postgres') => ({ getMigrations: async () => ({ '0001_invites_sessions_rate_limits': migrations(dialect)['0001_invites_sessions_rate_limits']! }) })

for (const backend of BACKENDS) {
  t.test(`${backend}: invites from before 0002 stay pending, inviter null`, async (t) => {
    const url = backend === 'sqlite' ? `sqlite://${join(tempDir(t), 'old.sqlite')}` : storageUrl(t, backend)
    let db: Kysely<any>
    let schema: string | undefined
    if (backend === 'sqlite') {
      db = new Kysely({ dialect: new SqliteDialect({ database: new BetterSqlite3(url.slice('sqlite://'.length)) }) })
    } else {
      const target = postgresTarget(url)
      schema = target.schema as string
      const setup = new pg.Client({ connectionString: target.connectionString })
      await setup.connect(); await setup.query(`CREATE SCHEMA "${schema}"`); await setup.end()
      db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: target.connectionString, options: `-c search_path=${schema}` }) }) })
    }
    const m = new Migrator({ db, provider: ONLY_0001(backend), migrationTableName: MIGRATION_TABLE, migrationLockTableName: MIGRATION_LOCK_TABLE, ...(schema !== undefined ? { migrationTableSchema: schema } : {}) })
    const r = await m.migrateToLatest()
    t.equal(r.error, undefined)
    const now = Date.now()
    await db.insertInto('regguard_invites').values({ medium: 'email', address: 'old@example.org', room_id: '!r:x', source: 'traffic', created_at: now, expires_at: now + 86_400_000, revoked_at: null }).execute()
    await db.destroy()

    const store = await openStore(url)
    t.teardown(() => store.close())
    const pending = await store.invites.findPending('email', 'old@example.org', Date.now())
    t.match(pending, { address: 'old@example.org', source: 'traffic', inviter: null, revoked_at: null })
    t.equal((await store.invites.list({ limit: 10 })).invites[0]?.inviter, null)
    // the new parts work on the upgraded database
    const added = await store.invites.add({ medium: 'email', address: 'new@example.org', room_id: null, source: 'traffic', expires_at: Date.now() + 1000, inviter: '@a:example.org' })
    t.equal(added.inviter, '@a:example.org')
    t.equal(await store.invites.countByInviter('@a:example.org', 0), 1)
    t.equal(await store.txns.claim(['k'], 'c1', Date.now(), 60_000), true)
  })
}
