import t from 'tap'
import { BACKENDS, openTestStore, storageUrl } from './backends.js'
import { openStore } from '../../src/store/open.js'

// Store.uia and Store.registrations (migration 0006), both backends, shared by two stores on one
// database: what passed in a /register UIA session merges field by field, the opening target is
// kept, records expire; an account's record says which invite let it in.

const H = 3_600_000
const PASSED = { medium: 'email' as const, address: 'a@elsewhere.example', invite_id: '7', invite_source: 'traffic' as const }

for (const backend of BACKENDS) {
  t.test(`${backend}: UIA records and registrations`, async (t) => {
    const url = storageUrl(t, backend)
    const a = await openTestStore(t, backend, url)
    const b = await openStore(url)
    t.teardown(() => b.close())
    const now = Date.now()
    t.equal(await a.uia.get('s1', now), null, 'unknown')
    await a.uia.note('s1', { username: 'mallory', target: '/_matrix/client/v3/register' }, now + H, now)
    t.same(await b.uia.get('s1', now), { session: 's1', threepid: null, username: 'mallory', target: '/_matrix/client/v3/register', expires_at: now + H }, 'seen by another instance')
    await b.uia.note('s1', { threepid: PASSED, target: '/other' }, now + 2 * H, now)
    t.same(await a.uia.get('s1', now), { session: 's1', threepid: PASSED, username: 'mallory', target: '/_matrix/client/v3/register', expires_at: now + 2 * H }, 'the 3PID added, the username and the first target kept')
    await a.uia.note('s1', { username: 'mal' }, now + 2 * H, now)
    t.same((await a.uia.get('s1', now))?.threepid, PASSED, 'a later username keeps the 3PID')
    t.equal((await a.uia.get('s1', now))?.username, 'mal')
    t.equal(await a.uia.get('s1', now + 3 * H), null, 'expired')
    await a.uia.note('old', {}, now + 10, now)
    // deleted by a later write, at most once a minute per store
    await b.uia.note('s2', { username: 'x' }, now + 4 * H, now + 2 * 60_000)
    t.equal(await b.uia.get('old', now), null, 'an expired record is swept by the writes')

    t.equal(await a.registrations.get('@mallory:example.org'), null)
    await a.registrations.put({ user_id: '@mallory:example.org', ...PASSED, registered_at: now })
    t.same(await b.registrations.get('@mallory:example.org'), { user_id: '@mallory:example.org', ...PASSED, registered_at: now })
    await b.registrations.put({ user_id: '@mallory:example.org', medium: 'msisdn', address: '33612345678', invite_id: null, invite_source: null, registered_at: now + 1 })
    t.same(await a.registrations.get('@mallory:example.org'), { user_id: '@mallory:example.org', medium: 'msisdn', address: '33612345678', invite_id: null, invite_source: null, registered_at: now + 1 }, 'replaced')
  })
}
