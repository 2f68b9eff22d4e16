import t from 'tap'
import { BACKENDS, openTestStore, storageUrl } from './backends.js'
import { openStore } from '../../src/store/open.js'

// Transaction keys, both backends: the first claim wins, a claim while it runs contests it,
// an errored first answer releases it, an expired key is new again; shared by two stores on
// one database. And invites by inviter.

const H = 3_600_000

for (const backend of BACKENDS) {
  t.test(`${backend}: transaction keys`, async (t) => {
    const url = storageUrl(t, backend)
    const a = await openTestStore(t, backend, url)
    const b = await openStore(url)
    t.teardown(() => b.close())
    const now = Date.now()
    t.equal(await a.txns.claim(['k1', 'k2'], 'first', now, H), true, 'new keys: first')
    t.equal(await b.txns.claim(['k2', 'k3'], 'second', now, H), false, 'one known key (another instance): not first')
    t.equal(await a.txns.finish(['k1', 'k2'], 'first'), false, 'contested while running')

    t.equal(await a.txns.claim(['s1'], 'one', now, H), true)
    t.equal(await a.txns.finish(['s1'], 'one'), true, 'nobody came meanwhile')
    t.equal(await b.txns.claim(['s1'], 'two', now + 1000, H), false, 'a replay after the answer')
    t.equal(await a.txns.finish(['s1'], 'one'), false, 'finished once')

    t.equal(await a.txns.claim(['e1'], 'err', now, H), true)
    await a.txns.release(['e1'], 'err')
    t.equal(await b.txns.claim(['e1'], 'retry', now, H), true, 'released: the retry is first')
    await a.txns.release(['e1'], 'err')
    t.equal(await a.txns.claim(['e1'], 'third', now, H), false, 'a release by another claim does not free it')

    t.equal(await a.txns.claim(['x1'], 'old', now - 2 * H, H), true)
    t.equal(await a.txns.claim(['x1'], 'new', now, H), true, 'expired: new again')
    t.equal(await a.txns.finish(['x1'], 'new'), true)
  })

  t.test(`${backend}: invites by inviter`, async (t) => {
    const s = await openTestStore(t, backend)
    const add = (address: string, inviter: string | null, created: number) => s.invites.add({ medium: 'email', address, room_id: null, source: inviter === null ? 'admin' : 'traffic', inviter, created_at: created, expires_at: Date.now() + H })
    const now = Date.now()
    await add('a@x.org', '@u:x', now - 2 * H)
    await add('b@x.org', '@u:x', now)
    await add('c@x.org', '@v:x', now)
    await add('d@x.org', null, now)
    t.equal(await s.invites.countByInviter('@u:x', now - H), 1, 'in the window only')
    t.equal(await s.invites.countByInviter('@u:x', 0), 2)
    t.same((await s.invites.list({ inviter: '@u:x', limit: 10 })).invites.map((i) => i.address), ['a@x.org', 'b@x.org'])
    t.equal(await s.invites.revokeByInviter('@u:x'), 2)
    t.equal(await s.invites.revokeByInviter('@u:x'), 0, 'already revoked')
    t.equal(await s.invites.findPending('email', 'b@x.org', now), null)
    t.not(await s.invites.findPending('email', 'c@x.org', now), null, 'another inviter untouched')
    t.not(await s.invites.findPending('email', 'd@x.org', now), null, 'invites without inviter untouched')
    t.equal(await s.invites.countByInviter('@u:x', 0), 2, 'revoked ones still count')
  })
}
