import t from 'tap'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { openStore } from '../../src/store/open.js'
import { migrations } from '../../src/store/migrations.js'
import { MIGRATION_TABLE } from '../../src/store/schema.js'
import type { Store } from '../../src/store/store.js'
import { tempDir } from './backends.js'

// SQLite loads kysely on the first call that is not a prepared statement (issue 12's footprint):
// a server that opens a migrated file and serves no admin call never loads it. Everything still
// answers as before, whichever loads it.

const loaded = (store: Store): boolean => (store as unknown as { kyselyLoaded: () => boolean }).kyselyLoaded()

async function migratedFile (t: Tap.Test): Promise<string> {
  const url = `sqlite://${join(tempDir(t), 'k.sqlite')}`
  const first = await openStore(url)
  t.ok(loaded(first), 'a new file is migrated through kysely')
  await first.close()
  return url
}

t.test('a migrated file: start-up, timers and the request paths run without kysely', async (t) => {
  const store = await openStore(await migratedFile(t))
  t.teardown(() => store.close())
  const now = Date.now()
  t.equal(await store.secret('k', () => 'v1'), 'v1')
  t.equal(await store.secret('k', () => 'v2'), 'v1', 'kept')
  await store.ping()
  t.same(await store.sweep(now, 1000), { sessions: 0, rateLimits: 0, txns: 0 })
  t.equal(await store.decisions.sweep(now), 0)
  t.same(await store.inviteFeed?.pendingKeys(now), [])
  t.equal(await store.invites.findPending('email', 'a@example.org', now), null)
  await store.sessions.put({ client_secret: 'cs', sid: 'sid', medium: 'email', address: 'a@example.org', endpoint: 'register', expires_at: now + 60_000 })
  t.match(await store.sessions.get('cs', 'sid', now), { address: 'a@example.org' })
  await store.decisions.addMany([{ at: now, endpoint: 'register', medium: 'email', result: 'deny', rule: 'r', detail: '', client_ip: '127.0.0.1', address: null, domain: null }])
  t.notOk(loaded(store), 'kysely not loaded')

  // the first other call loads it; what the statements wrote is there
  const invite = await store.invites.add({ medium: 'email', address: 'a@example.org', room_id: null, source: 'admin', expires_at: now + 60_000 })
  t.ok(loaded(store), 'loaded by the first call that needs it')
  t.same(await store.inviteFeed?.pendingKeys(now), ['email:a@example.org'])
  t.match(await store.invites.findPending('email', 'a@example.org', now), { id: invite.id })
  t.equal((await store.decisions.list({ limit: 10 })).decisions.length, 1)
  t.same(await store.sweep(now + 120_000, 1000), { sessions: 1, rateLimits: 0, txns: 0 }, 'the statement swept the session')
})

t.test('closing a store that never loaded kysely closes the file', async (t) => {
  const url = await migratedFile(t)
  const store = await openStore(url)
  await store.close()
  t.notOk(loaded(store))
  // a closed connection refuses statements (nothing else holds the file open)
  await t.rejects(store.ping())
})

t.test('a file missing a migration, or with one this version does not know, goes to kysely\'s migrator', async (t) => {
  const url = await migratedFile(t)
  const file = url.slice('sqlite://'.length)
  const known = Object.keys(migrations('sqlite')).sort()
  const raw = new BetterSqlite3(file)
  raw.prepare(`DELETE FROM "${MIGRATION_TABLE}" WHERE name = ?`).run(known.at(-1))
  raw.close()
  // recorded as not run, the last migration is run again by the migrator, and fails on the
  // column it added before: proof that the migrator, not the shortcut, looked at this file
  await t.rejects(openStore(url), { message: new RegExp(`schema migration ${known.at(-1) ?? ''} failed`) }, 'a missing migration is run')
  const fix = new BetterSqlite3(file)
  fix.prepare(`INSERT INTO "${MIGRATION_TABLE}" (name, timestamp) VALUES (?, ?)`).run(known.at(-1), new Date().toISOString())
  fix.prepare(`INSERT INTO "${MIGRATION_TABLE}" (name, timestamp) VALUES (?, ?)`).run('9999_from_a_newer_version', new Date().toISOString())
  fix.close()
  await t.rejects(openStore(url), { message: /9999_from_a_newer_version/ }, 'a migration this version does not know is refused by the migrator, as before')
})
