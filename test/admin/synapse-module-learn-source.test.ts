import t from 'tap'
import { listInvites } from '../invites/helpers.js'
import { invitesWhen, learnSetup, roomInviteBody, send } from '../invites/learn-helpers.js'

// invites.learn.source: with "module" the Synapse module reports invites, so the proxy only
// forwards room invites (no whoami, no transaction key, nothing learned); "both" and the
// default "traffic" keep learning from them.

const INVITE = '/_matrix/client/v3/rooms/!r:example.org/invite'
const PUT_INVITE = '/_matrix/client/v3/rooms/!r:example.org/invite/txn1'

t.test('source module: forwarded and made, never asked about, never learned', async (t) => {
  const { hs, rg } = await learnSetup(t, { invites: { learn: { source: 'module' } } })
  const token = hs.login('alice')
  t.equal((await send(rg.port, 'POST', INVITE, roomInviteBody('a@example.net'), token)).status, 200)
  t.equal((await send(rg.port, 'PUT', PUT_INVITE, roomInviteBody('b@example.net'), token)).status, 200)
  t.same(hs.invitesMade.map((i) => i.address), ['a@example.net', 'b@example.net'], 'the homeserver made both')
  t.same(hs.received.filter((r) => r.url.includes('whoami')), [], 'no whoami on the hot path')
  t.same(await listInvites(rg.adminUrl), [], 'nothing learned from traffic')
  t.notOk(rg.logs.some((l) => l.msg === 'invite not learned'), 'not even tried')
})

for (const source of ['traffic', 'both']) {
  t.test(`source ${source}: learned from traffic as before`, async (t) => {
    const { hs, rg } = await learnSetup(t, { invites: { learn: { source } } })
    t.equal((await send(rg.port, 'POST', INVITE, roomInviteBody('c@example.net'), hs.login('alice'))).status, 200)
    const list = await invitesWhen(rg, 1)
    t.same(list.map((i) => [i.address, i.inviter]), [['c@example.net', '@alice:example.org']])
    t.ok(hs.received.some((r) => r.url.includes('whoami')), 'the proxy asked whoami (what source module spares)')
  })
}
