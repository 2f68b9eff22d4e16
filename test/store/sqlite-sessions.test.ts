import t from 'tap'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { openStore } from '../../src/store/open.js'
import type { TokenSession } from '../../src/store/store.js'
import { tempDir } from './backends.js'

// SQLite gathers the sessions of a couple of milliseconds into one commit. Whatever the timing, a
// put is stored once it resolves, a lookup finds every put made before it, and closing writes
// what is still waiting.

const session = (n: number): TokenSession => ({ client_secret: `cs${n}`, sid: `sid${n}`, medium: 'email', address: `u${n}@example.org`, endpoint: 'register', expires_at: Date.now() + 60_000 })

t.test('puts of one turn are written together; a lookup right after a put finds it', async (t) => {
  const dir = tempDir(t)
  const store = await openStore(`sqlite://${join(dir, 's.sqlite')}`)
  t.teardown(() => store.close())
  const puts = Array.from({ length: 50 }, (_, n) => store.sessions.put(session(n)))
  // not awaited: the lookup must still see the put made before it
  const put = store.sessions.put(session(99))
  t.match(await store.sessions.get('cs99', 'sid99', Date.now()), { address: 'u99@example.org' }, 'read after write, before the batch is written')
  await Promise.all([...puts, put])
  for (const n of [0, 25, 49]) t.match(await store.sessions.get(`cs${n}`, `sid${n}`, Date.now()), { address: `u${n}@example.org` })
  // a second put of the same session replaces it, as on PostgreSQL
  await store.sessions.put({ ...session(0), address: 'changed@example.org' })
  t.match(await store.sessions.get('cs0', 'sid0', Date.now()), { address: 'changed@example.org' })
})

t.test('closing writes the sessions still waiting', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 's.sqlite')
  const store = await openStore(`sqlite://${file}`)
  const put = store.sessions.put(session(1))
  await store.close()
  await put
  const db = new BetterSqlite3(file, { readonly: true })
  t.teardown(() => db.close())
  t.equal((db.prepare('SELECT count(*) AS n FROM regguard_sessions').get() as { n: number }).n, 1)
})

t.test('the connection is back at synchronous = FULL after each light write (invites are committed at FULL)', async (t) => {
  const dir = tempDir(t)
  const store = await openStore(`sqlite://${join(dir, 's.sqlite')}`)
  t.teardown(() => store.close())
  await store.sessions.put(session(1))
  await store.decisions.addMany([{ at: Date.now(), endpoint: 'register/requestToken', medium: 'email', result: 'deny', rule: 'default', detail: '', client_ip: '192.0.2.1', address: null, domain: null }])
  // synchronous is per connection: read it through the store's own connection
  const level = (store as unknown as { sqliteLevel?: () => number }).sqliteLevel
  t.type(level, 'function', 'the SQLite store says its safety level')
  t.equal(level?.(), 2, 'FULL (2)')
})
