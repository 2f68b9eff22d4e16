import t from 'tap'
import { BACKENDS, openTestStore } from './backends.js'

// sweep() deletes expired sessions, old rate-limit windows and expired transaction keys, and nothing that still counts.
for (const backend of BACKENDS) {
  t.test(`${backend}: sweep removes only what can no longer matter`, async (t) => {
    const store = await openTestStore(t, backend)
    const now = 1_800_000_000_000
    await store.sessions.put({ client_secret: 'a', sid: 'old', medium: 'email', address: 'a@x.org', endpoint: 'register', expires_at: now - 1 })
    await store.sessions.put({ client_secret: 'a', sid: 'live', medium: 'email', address: 'a@x.org', endpoint: 'register', expires_at: now + 60_000 })
    await store.rateLimits.hit('ip:old', 60_000, now - 10 * 60_000)
    await store.rateLimits.hit('ip:live', 60_000, now)
    const invite = await store.invites.add({ medium: 'email', address: 'a@x.org', room_id: null, source: 'admin', expires_at: now - 1 })
    await store.txns.claim(['old-txn'], 'c', now - 2 * 3_600_000, 3_600_000)
    await store.txns.claim(['live-txn'], 'c', now, 3_600_000)
    t.same(await store.sweep(now, 2 * 60_000), { sessions: 1, rateLimits: 1, txns: 1 })
    t.equal(await store.txns.claim(['live-txn'], 'd', now, 3_600_000), false, 'a live transaction key stays')
    t.not(await store.sessions.get('a', 'live', now), null, 'a live session stays')
    t.equal(await store.rateLimits.hit('ip:live', 60_000, now), 2, 'a current window keeps counting')
    t.equal(await store.rateLimits.hit('ip:old', 60_000, now - 10 * 60_000), 1, 'the old window was deleted')
    t.not(await store.invites.get(invite.id), null, 'expired invites stay listable')
    t.same(await store.sweep(now, 2 * 60_000), { sessions: 0, rateLimits: 1, txns: 0 }, 'idempotent but for what became old')
  })
}
