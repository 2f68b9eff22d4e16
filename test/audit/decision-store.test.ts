import t from 'tap'
import type { NewDecision } from '../../src/store/store.js'
import { BACKENDS, openTestStore } from '../store/backends.js'

// The decision history in both stores: a batch written in one call, listed newest first in
// pages, filtered, counted per hour, swept after the retention.

const HOUR = 3_600_000
const base = 1_800_000_000_000 - (1_800_000_000_000 % HOUR) // an hour's start

function decision (at: number, over: Partial<NewDecision> = {}): NewDecision {
  return { at, endpoint: 'register/requestToken', medium: 'email', result: 'deny', rule: 'default', detail: 'allowed: false', client_ip: '192.0.2.1', address: 'abc123@example.org', domain: 'example.org', ...over }
}

for (const backend of BACKENDS) {
  t.test(`${backend}: history written, paged, filtered, counted and swept`, async (t) => {
    const store = await openTestStore(t, backend)
    const batch = [
      decision(base + 1),
      decision(base + 2, { result: 'allow', rule: 'whitelist', detail: 'domain example.org' }),
      decision(base + HOUR + 3, { medium: 'msisdn', address: 'msisdn:0123456789ab', domain: null, rule: 'blacklist', detail: 'pattern 1.*' }),
      decision(base + HOUR + 4, { domain: 'other.net', address: 'def456@other.net' }),
      decision(base + 2 * HOUR + 5, { endpoint: 'register', medium: 'none', address: null, domain: null, rule: 'require_3pid', detail: 'guest registration' })
    ]
    await store.decisions.addMany(batch)

    const all = await store.decisions.list({ limit: 10 })
    t.same(all.decisions.map((d) => d.at), batch.map((d) => d.at).reverse(), 'newest first')
    t.equal(all.next, undefined, 'one page')
    t.match(all.decisions[0], { ...batch[4], id: String })

    const pages: number[][] = []
    let from: string | undefined
    do {
      const page = await store.decisions.list({ limit: 2, from })
      pages.push(page.decisions.map((d) => d.at))
      from = page.next
    } while (from !== undefined)
    t.same(pages, [[batch[4]?.at, batch[3]?.at], [batch[2]?.at, batch[1]?.at], [batch[0]?.at]], 'pages of two, no row twice or missed')

    t.same((await store.decisions.list({ limit: 10, result: 'allow' })).decisions.map((d) => d.at), [base + 2], 'by result')
    t.same((await store.decisions.list({ limit: 10, rule: 'blacklist' })).decisions.map((d) => d.at), [base + HOUR + 3], 'by rule')
    t.same((await store.decisions.list({ limit: 10, medium: 'none' })).decisions.map((d) => d.at), [base + 2 * HOUR + 5], 'by medium')
    t.same((await store.decisions.list({ limit: 10, domain: 'other.net' })).decisions.map((d) => d.at), [base + HOUR + 4], 'by domain')
    t.same((await store.decisions.list({ limit: 10, domain: 'example.org', result: 'deny' })).decisions.map((d) => d.at), [base + 1], 'filters combine')
    await t.rejects(store.decisions.list({ limit: 10, from: 'bm9wZQ' }), /invalid page token/)

    t.same(await store.decisions.summary(base, base + 3 * HOUR), [
      { hour: base, result: 'allow', rule: 'whitelist', count: 1 },
      { hour: base, result: 'deny', rule: 'default', count: 1 },
      { hour: base + HOUR, result: 'deny', rule: 'blacklist', count: 1 },
      { hour: base + HOUR, result: 'deny', rule: 'default', count: 1 },
      { hour: base + 2 * HOUR, result: 'deny', rule: 'require_3pid', count: 1 }
    ], 'per hour, result and rule')
    t.same(await store.decisions.summary(base + HOUR, base + 2 * HOUR), [
      { hour: base + HOUR, result: 'deny', rule: 'blacklist', count: 1 },
      { hour: base + HOUR, result: 'deny', rule: 'default', count: 1 }
    ], 'only the window asked for')

    t.equal(await store.decisions.sweep(base + HOUR), 2, 'the two older than the cut-off go')
    t.same((await store.decisions.list({ limit: 10 })).decisions.map((d) => d.at), batch.slice(2).map((d) => d.at).reverse(), 'the rest stay')
    t.equal(await store.decisions.sweep(base + HOUR), 0, 'idempotent')
  })

  t.test(`${backend}: a large batch is written whole`, async (t) => {
    const store = await openTestStore(t, backend)
    await store.decisions.addMany(Array.from({ length: 1234 }, (_, i) => decision(base + i)))
    const page = await store.decisions.list({ limit: 1000 })
    t.equal(page.decisions.length, 1000)
    t.equal((await store.decisions.list({ limit: 1000, from: page.next })).decisions.length, 234)
  })
}

for (const backend of BACKENDS) {
  t.test(`${backend}: a row's count is kept, listed and summed by the hourly summary`, async (t) => {
    const store = await openTestStore(t, backend)
    await store.decisions.addMany([decision(base + 1, { count: 4000 }), decision(base + 2), decision(base + 3, { rule: 'whitelist', result: 'allow', count: 2 })])
    const listed = await store.decisions.list({ limit: 10 })
    t.same(listed.decisions.map((d) => d.count), [2, 1, 4000], 'a row without a count stands for one decision')
    const summary = await store.decisions.summary(base, base + HOUR)
    t.same(summary.map((s) => [s.rule, s.count]), [['whitelist', 2], ['default', 4001]], 'the summary counts decisions, not rows')
  })
}

t.test('sqlite: history and session writes made while an invite batch holds its transaction are kept when that batch is rolled back', async (t) => {
  const store = await openTestStore(t, 'sqlite')
  const invites = Array.from({ length: 20 }, (_, i) => ({ medium: 'email' as const, address: `bulk${i}@example.org`, room_id: null, source: 'import' as const, expires_at: base + HOUR }))
  // a row the database refuses: the whole batch is rolled back
  invites.push({ ...invites[0], address: null as unknown as string } as typeof invites[number])
  // the invite batch is a kysely transaction over several awaits: the other writes start after
  // every possible number of them, so some arrive while it is open
  for (let k = 0; k < 40; k++) {
    const bulk = store.invites.addMany(invites).then(() => 'written', () => 'rolled back')
    for (let i = 0; i < k; i++) await Promise.resolve()
    await Promise.all([
      store.decisions.addMany([decision(base + k, { detail: `after ${k}` })]),
      store.sessions.put({ client_secret: 'cs', sid: `sid${k}`, medium: 'email', address: 'a@example.org', endpoint: 'register', expires_at: base + HOUR })
    ])
    t.equal(await bulk, 'rolled back')
  }
  t.equal((await store.invites.list({ limit: 10 })).invites.length, 0, 'every batch was rolled back')
  const kept = (await store.decisions.list({ limit: 100 })).decisions.map((d) => d.detail).reverse()
  t.same(kept, Array.from({ length: 40 }, (_, k) => `after ${k}`), 'no history write was part of a batch')
  let sessions = 0
  for (let k = 0; k < 40; k++) if (await store.sessions.get('cs', `sid${k}`, base) !== null) sessions++
  t.equal(sessions, 40, 'nor any session')
})
