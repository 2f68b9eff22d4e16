import t from 'tap'
import { BACKENDS, openTestStore, storageUrl } from './backends.js'
import { openStore } from '../../src/store/open.js'

// Store.accessRequests (migration 0007), both backends, two stores on one database: one pending
// request per address (however many ask at once), decided exactly once, an expired one retired
// when the address asks again, rejections found for reject_ttl, sweeping.

const H = 3_600_000
const seen = (now: number, ip = '10.0.0.1') => ({ client_ip: ip, user_agent: 'ua', now })

for (const backend of BACKENDS) {
  t.test(`${backend}: access requests`, async (t) => {
    const url = storageUrl(t, backend)
    const a = await openTestStore(t, backend, url)
    const b = await openStore(url)
    t.teardown(() => b.close())
    const now = Date.now()
    t.equal(await a.accessRequests.touch('email', 'x@example.net', seen(now)), null, 'none yet')

    // many asks at once, through two stores: one row
    const opened = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).accessRequests.open({ medium: 'email', address: 'x@example.net', ...seen(now), expires_at: now + H })))
    t.equal(opened.filter((o) => o.created).length, 1, 'exactly one created')
    t.equal(new Set(opened.map((o) => o.request.id)).size, 1, 'all the same request')
    const id = opened[0]?.request.id as string
    const touched = await b.accessRequests.touch('email', 'x@example.net', seen(now + 5, '10.0.0.2'))
    t.match(touched, { id, count: 9, last_seen: now + 5, first_seen: now, client_ip: '10.0.0.2', state: 'pending' })

    t.same((await a.accessRequests.list({ limit: 10, offset: 0 })).map((r) => r.id), [id])
    const rejected = await a.accessRequests.decide(id, { state: 'rejected', by: '@op:x', reason: 'no', invite_id: null, now: now + 10 })
    t.match(rejected, { state: 'rejected', decided_by: '@op:x', reason: 'no', decided_at: now + 10 })
    t.equal(await b.accessRequests.decide(id, { state: 'approved', by: null, reason: null, invite_id: '1', now: now + 11 }), null, 'decided once')
    t.equal(await a.accessRequests.rejectedSince('email', 'x@example.net', now), true)
    t.equal(await a.accessRequests.rejectedSince('email', 'x@example.net', now + 11), false, 'before the window')
    t.equal(await a.accessRequests.touch('email', 'x@example.net', seen(now + 12)), null, 'no longer pending')

    // an expired pending request: not touched, not decidable, replaced by a new one
    const old = await a.accessRequests.open({ medium: 'email', address: 'y@example.net', ...seen(now), expires_at: now + 100 })
    t.equal(await a.accessRequests.touch('email', 'y@example.net', seen(now + 100)), null, 'expired')
    t.equal(await a.accessRequests.decide(old.request.id, { state: 'approved', by: null, reason: null, invite_id: null, now: now + 100 }), null, 'an expired request cannot be decided')
    const renewed = await b.accessRequests.open({ medium: 'email', address: 'y@example.net', ...seen(now + 200), expires_at: now + H })
    t.equal(renewed.created, true)
    t.not(renewed.request.id, old.request.id)

    // pending first, then the others, newest first
    const listed = await a.accessRequests.list({ limit: 10, offset: 0 })
    t.same(listed.map((r) => r.id), [renewed.request.id, old.request.id, id])
    t.same((await a.accessRequests.list({ state: 'rejected', limit: 10, offset: 0 })).map((r) => r.id), [id])
    t.same((await a.accessRequests.list({ limit: 1, offset: 1 })).map((r) => r.id), [old.request.id])

    await a.accessRequests.setApplicantTold(renewed.request.id, 'sent')
    t.equal((await b.accessRequests.get(renewed.request.id))?.applicant_told, 'sent')
    t.equal(await a.accessRequests.get('nope'), null)

    // the expired one goes; the rejection goes once decided before the bound
    t.equal(await a.accessRequests.sweep(now + 300, now), 1)
    t.equal(await a.accessRequests.get(old.request.id), null)
    t.equal(await a.accessRequests.sweep(now + 300, now + 11), 1)
    t.equal(await a.accessRequests.get(id), null)
    t.ok(await a.accessRequests.get(renewed.request.id), 'the pending one stays')
  })
}
