import t from 'tap'
import { openStore } from '../../src/store/open.js'
import type { NewInvite } from '../../src/store/store.js'
import { BACKENDS, openTestStore, storageUrl } from './backends.js'

// One contract, both backends: whatever passes here on SQLite passes on PostgreSQL.

const DAY = 86_400_000
const invite = (address: string, over: Partial<NewInvite> = {}): NewInvite =>
  ({ medium: 'email', address, room_id: null, source: 'admin', expires_at: Date.now() + DAY, ...over })

for (const backend of BACKENDS) {
  t.test(`${backend}: invites`, async (t) => {
    const store = await openTestStore(t, backend)
    t.equal(store.kind, backend)
    const now = Date.now()

    const a = await store.invites.add(invite('alice@example.org', { room_id: '!room:example.org', source: 'traffic' }))
    t.type(a.id, 'string')
    t.match(a, { medium: 'email', address: 'alice@example.org', room_id: '!room:example.org', source: 'traffic', revoked_at: null })
    t.type(a.created_at, 'number')
    t.type(a.expires_at, 'number')
    t.same(await store.invites.get(a.id), a, 'get returns what add returned')
    t.equal(await store.invites.get('999999'), null)
    t.equal(await store.invites.get('not-an-id'), null)

    t.same(await store.invites.findPending('email', 'alice@example.org', now), a)
    t.equal(await store.invites.findPending('msisdn', 'alice@example.org', now), null, 'medium must match')
    t.equal(await store.invites.findPending('email', 'Alice@example.org', now), null, 'address compared exactly (it is canonical)')
    t.equal(await store.invites.findPending('email', 'alice@example.org', a.expires_at), null, 'expired at expires_at')

    const newer = await store.invites.add(invite('alice@example.org'))
    t.equal((await store.invites.findPending('email', 'alice@example.org', now))?.id, newer.id, 'newest pending first')
    t.equal(await store.invites.revoke(newer.id), true)
    t.equal((await store.invites.findPending('email', 'alice@example.org', now))?.id, a.id, 'a revoked one no longer counts')
    const revoked = await store.invites.get(newer.id)
    t.type(revoked?.revoked_at, 'number')
    t.equal(await store.invites.revoke(newer.id, Date.now() + 1000), true, 'revoking again still finds it')
    t.equal((await store.invites.get(newer.id))?.revoked_at, revoked?.revoked_at, 'the first revocation time is kept')
    t.equal(await store.invites.revoke('999999'), false)
    t.equal(await store.invites.revoke('x'), false)

    const expired = await store.invites.add(invite('bob@example.org', { expires_at: now - 1 }))
    t.equal(await store.invites.findPending('email', 'bob@example.org', now), null, 'expired')
    t.equal((await store.invites.get(expired.id))?.id, expired.id, 'still listed')
  })

  t.test(`${backend}: list pages in id order with an opaque token`, async (t) => {
    const store = await openTestStore(t, backend)
    const ids: string[] = []
    for (let i = 0; i < 7; i++) ids.push((await store.invites.add(invite(`u${i}@example.org`, { medium: i % 2 === 0 ? 'email' : 'msisdn', address: i % 2 === 0 ? `u${i}@example.org` : `4477009001${i}` }))).id)
    const seen: string[] = []
    let from: string | undefined
    let pages = 0
    do {
      const page = await store.invites.list({ limit: 3, from })
      seen.push(...page.invites.map((x) => x.id))
      from = page.next
      pages++
      if (page.next !== undefined) t.notMatch(page.next, /^[0-9]+$/, 'token is not a bare id')
    } while (from !== undefined && pages < 10)
    t.same(seen, ids, 'every invite once, in creation order')
    t.equal(pages, 3)
    const exact = await store.invites.list({ limit: 3 * 2 + 1 })
    t.equal(exact.invites.length, 7)
    t.equal(exact.next, undefined, 'no next token on the last page')
    const emails = await store.invites.list({ medium: 'email', limit: 100 })
    t.same(emails.invites.map((x) => x.medium), ['email', 'email', 'email', 'email'])
    const one = await store.invites.list({ medium: 'msisdn', address: '44770090013', limit: 100 })
    t.same(one.invites.map((x) => x.id), [ids[3]])
    await t.rejects(store.invites.list({ limit: 3, from: 'garbage' }), /invalid page token/)
    // newest first (the console): the same invites the other way, pages of their own
    const newest: string[] = []
    let token: string | undefined
    let newestPages = 0
    do {
      const page = await store.invites.list({ limit: 3, from: token, newestFirst: true })
      newest.push(...page.invites.map((x) => x.id))
      if (newestPages === 0 && page.next !== undefined) {
        await t.rejects(store.invites.list({ limit: 3, from: page.next }), /invalid page token/, 'a newest-first token does not page the oldest-first list')
      }
      token = page.next
      newestPages++
    } while (token !== undefined && newestPages < 10)
    t.same(newest, [...ids].reverse(), 'every invite once, newest first')
    t.equal(newestPages, 3)
  })

  t.test(`${backend}: addMany is all or nothing`, async (t) => {
    const store = await openTestStore(t, backend)
    const added = await store.invites.addMany([invite('a@example.org', { source: 'import' }), invite('b@example.org', { source: 'import' })])
    t.equal(added.length, 2)
    // a NOT NULL violation on the second row must roll back the first
    await t.rejects(store.invites.addMany([invite('c@example.org'), invite(null as unknown as string)]))
    t.equal(await store.invites.findPending('email', 'c@example.org', Date.now()), null, 'first row rolled back')
    t.equal((await store.invites.list({ limit: 100 })).invites.length, 2)
  })

  t.test(`${backend}: sessions`, async (t) => {
    const store = await openTestStore(t, backend)
    const now = Date.now()
    const s = { client_secret: 'cs', sid: 'S1', medium: 'email' as const, address: 'a@example.org', endpoint: 'register', expires_at: now + 1000 }
    await store.sessions.put(s)
    t.same(await store.sessions.get('cs', 'S1', now), s)
    t.equal(await store.sessions.get('cs', 'S2', now), null)
    t.equal(await store.sessions.get('other', 'S1', now), null)
    t.equal(await store.sessions.get('cs', 'S1', now + 1000), null, 'expired rows are ignored')
    await store.sessions.put({ ...s, endpoint: 'account', expires_at: now + 5000 })
    t.equal((await store.sessions.get('cs', 'S1', now + 2000))?.endpoint, 'account', 'put replaces')
  })

  t.test(`${backend}: rate-limit counters count per fixed window, concurrently`, async (t) => {
    const store = await openTestStore(t, backend)
    const w = 60_000
    const base = 1_700_000_040_000 // a window boundary
    t.equal(await store.rateLimits.hit('k', w, base), 1)
    t.equal(await store.rateLimits.hit('k', w, base + 10), 2)
    t.equal(await store.rateLimits.hit('other', w, base + 10), 1)
    t.equal(await store.rateLimits.hit('k', w, base + w), 1, 'a new window starts again')
    t.equal(await store.rateLimits.hit('k', w, base + w - 1), 2, 'a late hit from an older window adds to the current one')
    const counts = await Promise.all(Array.from({ length: 20 }, () => store.rateLimits.hit('c', w, base)))
    t.same([...counts].sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i + 1), 'every hit got its own count')
  })

  t.test(`${backend}: reopening keeps the rows and does not migrate twice`, async (t) => {
    const url = storageUrl(t, backend)
    const first = await openStore(url)
    const a = await first.invites.add(invite('keep@example.org'))
    await first.close()
    const second = await openStore(url)
    t.teardown(() => second.close())
    t.same(await second.invites.get(a.id), a)
  })
}

t.test('two stores on one PostgreSQL schema see each other at once', async (t) => {
  const url = storageUrl(t, 'postgres')
  const [a, b] = await Promise.all([openStore(url), openStore(url)])
  t.teardown(async () => { await a.close(); await b.close() })
  const inv = await a.invites.add(invite('shared@example.org'))
  t.equal((await b.invites.findPending('email', 'shared@example.org', Date.now()))?.id, inv.id)
  const hits = await Promise.all([a.rateLimits.hit('k', 60_000, 0), b.rateLimits.hit('k', 60_000, 0)])
  t.same(hits.sort(), [1, 2])
})
