import t from 'tap'
import { ADMIN_TOKEN, adminCall, listInvites } from './helpers.js'
import { createRoomBody, invitesWhen, learnSetup, notLearned, requestToken, REQUEST_TOKEN, roomInviteBody, send } from './learn-helpers.js'

// A PUT with a transaction id teaches an invite only the first time its key (path + requester)
// is seen: Synapse answers a repeated key from its cache without reading the new body.

t.test('the first PUT teaches, with its inviter; a replay with a new body teaches nothing', async (t) => {
  const { hs, rg } = await learnSetup(t)
  const alice = hs.login('alice', 'PHONE')
  const first = await send(rg.port, 'PUT', '/_matrix/client/v3/createRoom/txn1', createRoomBody('Friend@Example.net'), alice)
  t.equal(first.status, 200)
  const roomId = JSON.parse(first.body).room_id as string
  const learned = await invitesWhen(rg, 1)
  t.match(learned, [{ medium: 'email', address: 'friend@example.net', room_id: roomId, source: 'traffic', inviter: '@alice:example.org' }])

  // the replay: same path, same device (another token of it), a body that now invites someone else
  const alice2 = hs.login('alice', 'PHONE')
  const replay = await send(rg.port, 'PUT', '/_matrix/client/v3/createRoom/txn1', createRoomBody('victim@denied.example'), alice2)
  t.equal(replay.status, 200)
  t.equal(JSON.parse(replay.body).room_id, roomId, 'the homeserver answered from its cache')
  t.same(hs.invitesMade.map((i) => i.address), ['Friend@Example.net'], 'the homeserver invited nobody new')
  t.ok(await notLearned(rg, 'replay'), 'logged as a replay')
  t.same((await listInvites(rg.adminUrl)).map((i) => i.address), ['friend@example.net'], 'nothing learned from the replay')

  // the replayed address stays denied, and its requestToken never reaches the homeserver
  const rt = await requestToken(rg.port, 'victim@denied.example')
  t.equal(rt.status, 403)
  t.same(hs.receivedMatching(REQUEST_TOKEN), [], 'no requestToken reached the homeserver')
  const ok = await requestToken(rg.port, 'friend@example.net')
  t.equal(ok.status, 200, 'the invited address may register')

  const m = await (await fetch(`${rg.adminUrl}/metrics`)).text()
  t.match(m, /regguard_invites_not_learned_total\{reason="replay"\} 1/)
})

t.test('a replayed room invite PUT teaches nothing; same txn id on another path or device is new', async (t) => {
  const { hs, rg } = await learnSetup(t)
  const bob = hs.login('bob', 'LAPTOP')
  const p = '/_matrix/client/v3/rooms/!room:example.org/invite/t9'
  t.equal((await send(rg.port, 'PUT', p, roomInviteBody('one@example.net'), bob)).status, 200)
  await invitesWhen(rg, 1)
  t.equal((await send(rg.port, 'PUT', p, roomInviteBody('two@example.net'), bob)).status, 200)
  t.ok(await notLearned(rg, 'replay'))
  // Synapse executes these: another path, another device of the same user
  t.equal((await send(rg.port, 'PUT', '/_matrix/client/v3/rooms/!other:example.org/invite/t9', roomInviteBody('three@example.net'), bob)).status, 200)
  t.equal((await send(rg.port, 'PUT', p, roomInviteBody('four@example.net'), hs.login('bob', 'TABLET'))).status, 200)
  const list = await invitesWhen(rg, 3)
  t.same(list.map((i) => i.address).sort(), ['four@example.net', 'one@example.net', 'three@example.net'])
  t.same(hs.invitesMade.map((i) => i.address).sort(), ['four@example.net', 'one@example.net', 'three@example.net'], 'exactly what the homeserver invited')
})

t.test('an appservice masquerading as two users shares one transaction key, as in Synapse', async (t) => {
  const { hs, rg } = await learnSetup(t)
  const as = hs.appservice('bridge', 'bridgebot')
  const p = '/_matrix/client/v3/createRoom/astxn'
  t.equal((await send(rg.port, 'PUT', `${p}?user_id=${encodeURIComponent('@puppet1:example.org')}`, createRoomBody('p1@example.net'), as)).status, 200)
  t.match(await invitesWhen(rg, 1), [{ address: 'p1@example.net', inviter: '@puppet1:example.org' }], 'the inviter is the masqueraded user')
  t.equal((await send(rg.port, 'PUT', `${p}?user_id=${encodeURIComponent('@puppet2:example.org')}`, createRoomBody('p2@example.net'), as)).status, 200)
  t.ok(await notLearned(rg, 'replay'))
  t.same(hs.invitesMade.map((i) => i.address), ['p1@example.net'])
  t.equal((await listInvites(rg.adminUrl)).length, 1)
})

t.test('concurrent PUTs with one key teach nothing', async (t) => {
  const { hs, rg } = await learnSetup(t)
  const carol = hs.login('carol', 'D1')
  hs.executionDelayMs = 400
  const p = '/_matrix/client/v3/createRoom/same'
  const [a, b] = await Promise.all([
    send(rg.port, 'PUT', p, createRoomBody('a@example.net'), carol),
    new Promise((resolve) => setTimeout(resolve, 100)).then(() => send(rg.port, 'PUT', p, createRoomBody('b@example.net'), carol))
  ])
  t.equal(a.status, 200)
  t.equal(b.status, 200)
  t.equal(hs.executions, 1, 'one execution, shared')
  t.ok(await notLearned(rg, 'concurrent'), 'the first one learns nothing: another came meanwhile')
  t.ok(await notLearned(rg, 'replay'), 'the second is not the first')
  t.same(await listInvites(rg.adminUrl), [])
})

t.test('a key whose first answer was an error teaches on a retry', async (t) => {
  const { hs, rg } = await learnSetup(t)
  const dave = hs.login('dave', 'D1')
  hs.failNext(1, 500)
  const p = '/_matrix/client/v3/createRoom/retry'
  t.equal((await send(rg.port, 'PUT', p, createRoomBody('retry@example.net'), dave)).status, 500)
  t.equal((await send(rg.port, 'PUT', p, createRoomBody('retry@example.net'), dave)).status, 200)
  t.equal(hs.executions, 2, 'the homeserver executed the retry')
  t.match(await invitesWhen(rg, 1), [{ address: 'retry@example.net', inviter: '@dave:example.org' }])
})

t.test('transaction keys are shared by instances on one store, and listed by inviter', async (t) => {
  const { hs, rg } = await learnSetup(t)
  const url = rg.config.settings.storage.url
  const { startRegguard } = await import('../helpers/regguard.js')
  const rg2 = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, homeserver: { server_name: 'example.org' }, storage: { url } })
  const erin = hs.login('erin', 'D1')
  const p = '/_matrix/client/v3/createRoom/shared'
  t.equal((await send(rg.port, 'PUT', p, createRoomBody('x@example.net'), erin)).status, 200)
  await invitesWhen(rg, 1)
  t.equal((await send(rg2.port, 'PUT', p, createRoomBody('y@example.net'), erin)).status, 200)
  t.ok(await notLearned(rg2, 'replay'), 'the other instance knows the key')
  const byErin = await adminCall(rg2.adminUrl, 'GET', '/_regguard/admin/v1/invites?inviter=%40erin%3Aexample.org')
  t.same(byErin.body.invites.map((i: { address: string }) => i.address), ['x@example.net'])
})
