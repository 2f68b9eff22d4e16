import t from 'tap'
import { listInvites } from './helpers.js'
import { createRoomBody, invitesWhen, learnSetup, notLearned, roomInviteBody, send } from './learn-helpers.js'

// What one inviter, and one request, can open: invites.learn.per_inviter and max_per_request;
// and invites.learn.enabled: false.

t.test('per-inviter limit: past max in the window nothing more is learned from that inviter', async (t) => {
  const { hs, rg } = await learnSetup(t, { invites: { learn: { per_inviter: { max: 3, window: '1 day' } } } })
  const alice = hs.login('alice')
  t.equal((await send(rg.port, 'POST', '/_matrix/client/v3/createRoom', createRoomBody('a1@example.net', 'a2@example.net'), alice)).status, 200)
  await invitesWhen(rg, 2)
  t.equal((await send(rg.port, 'POST', '/_matrix/client/v3/createRoom', createRoomBody('a3@example.net', 'a4@example.net'), alice)).status, 200)
  const over = await notLearned(rg, 'per-inviter-limit')
  t.match(over, { inviter: '@alice:example.org' })
  t.equal((over?.addresses as string[]).length, 1, 'only the one past the limit')
  await invitesWhen(rg, 3)
  // revoking does not make room
  const all = await listInvites(rg.adminUrl)
  const { adminCall } = await import('./helpers.js')
  await adminCall(rg.adminUrl, 'DELETE', `/_regguard/admin/v1/invites/${all[0]!.id}`)
  t.equal((await send(rg.port, 'POST', '/_matrix/client/v3/rooms/!r:example.org/invite', roomInviteBody('a5@example.net'), alice)).status, 200)
  // another inviter has a limit of its own
  t.equal((await send(rg.port, 'POST', '/_matrix/client/v3/rooms/!r:example.org/invite', roomInviteBody('b1@example.net'), hs.login('bob'))).status, 200)
  const list = await invitesWhen(rg, 4)
  t.same(list.map((i) => i.address), ['a1@example.net', 'a2@example.net', 'a3@example.net', 'b1@example.net'])
  t.same(hs.invitesMade.map((i) => i.address), ['a1@example.net', 'a2@example.net', 'a3@example.net', 'a4@example.net', 'a5@example.net', 'b1@example.net'], 'all forwarded and made')
  const m = await (await fetch(`${rg.adminUrl}/metrics`)).text()
  t.match(m, /regguard_invites_not_learned_total\{reason="per-inviter-limit"\} 2/)
})

t.test('a createRoom with more invite_3pid entries than max_per_request teaches none of them', async (t) => {
  const { hs, rg } = await learnSetup(t, { invites: { learn: { max_per_request: 2 } } })
  const alice = hs.login('alice')
  const many = await send(rg.port, 'POST', '/_matrix/client/v3/createRoom', createRoomBody('m1@example.net', 'm2@example.net', 'm3@example.net'), alice)
  t.equal(many.status, 200, 'forwarded')
  t.equal(hs.invitesMade.length, 3)
  t.match(await notLearned(rg, 'too-many'), { entries: 3 })
  t.equal((await send(rg.port, 'POST', '/_matrix/client/v3/createRoom', createRoomBody('ok1@example.net', 'ok2@example.net'), alice)).status, 200)
  t.same((await invitesWhen(rg, 2)).map((i) => i.address), ['ok1@example.net', 'ok2@example.net'])
})

t.test('invites.learn.enabled: false learns nothing and forwards byte for byte', async (t) => {
  const { hs, rg } = await learnSetup(t, { invites: { learn: { enabled: false } } })
  const body = createRoomBody('off@example.net')
  const r = await send(rg.port, 'PUT', '/_matrix/client/v3/createRoom/t1', body, hs.login('alice'))
  t.equal(r.status, 200)
  t.equal(hs.receivedMatching('/createRoom/t1')[0]?.body.toString(), body)
  t.same(hs.receivedMatching('whoami'), [], 'nobody asked who the requester is')
  t.equal((await send(rg.port, 'POST', '/_matrix/client/v3/rooms/!r:example.org/invite', roomInviteBody('off2@example.net'), hs.login('bob'))).status, 200)
  t.equal(hs.invitesMade.length, 2)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.same(await listInvites(rg.adminUrl), [])
})
