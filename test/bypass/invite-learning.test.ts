import t from 'tap'
import { startRegguard } from '../helpers/regguard.js'
import { startSynapseLike, type SynapseLike } from '../helpers/synapse-like.js'
import { ADMIN_TOKEN, listInvites } from '../invites/helpers.js'
import { createRoomBody, notLearned, REQUEST_TOKEN, requestToken, roomInviteBody, send } from '../invites/learn-helpers.js'
import { DENIED_EMAIL, POLICY } from './helpers.js'

// Issue 8, section 3: any account could make a denied address "invited" (an invite beats the
// blacklist) with an invite the homeserver never made. Each way ends the same: the address is
// still denied at requestToken, and no requestToken for it reached the homeserver.

async function attackSetup (t: Parameters<Parameters<typeof t.test>[1]>[0], extra: Record<string, unknown> = {}) {
  const hs = await startSynapseLike(t)
  const rg = await startRegguard(t, hs.url, { ...POLICY, admin: { token: ADMIN_TOKEN }, homeserver: { server_name: 'example.org', ...extra } })
  return { hs, rg }
}

async function assertStillDenied (t: Parameters<Parameters<typeof t.test>[1]>[0], hs: SynapseLike, port: number, adminUrl: string): Promise<void> {
  t.same((await listInvites(adminUrl)).filter((i) => i.address === DENIED_EMAIL), [], 'no invite for the denied address')
  const r = await requestToken(port, DENIED_EMAIL)
  t.equal(r.status, 403, 'requestToken for it is denied')
  t.same(hs.receivedMatching(REQUEST_TOKEN), [], 'and never reached the homeserver')
  t.equal(hs.invitesMade.some((i) => i.address === DENIED_EMAIL), false, 'the homeserver never invited it')
}

t.test('a replayed createRoom transaction carrying invite_3pid', async (t) => {
  const { hs, rg } = await attackSetup(t)
  const tok = hs.login('mallory', 'D')
  await send(rg.port, 'PUT', '/_matrix/client/v3/createRoom/m1', JSON.stringify({ name: 'harmless' }), tok)
  const replay = await send(rg.port, 'PUT', '/_matrix/client/v3/createRoom/m1', createRoomBody(DENIED_EMAIL), tok)
  t.equal(replay.status, 200, 'Synapse answers from its cache')
  t.ok(await notLearned(rg, 'replay'))
  await assertStillDenied(t, hs, rg.port, rg.adminUrl)
})

t.test('a replayed room invite transaction, with another token of the same device', async (t) => {
  const { hs, rg } = await attackSetup(t)
  const p = '/_matrix/client/v3/rooms/!x:example.org/invite/m2'
  await send(rg.port, 'PUT', p, JSON.stringify({ user_id: '@someone:example.org' }), hs.login('mallory', 'D'))
  await send(rg.port, 'PUT', p, roomInviteBody(DENIED_EMAIL), hs.login('mallory', 'D'))
  t.ok(await notLearned(rg, 'replay'))
  await assertStillDenied(t, hs, rg.port, rg.adminUrl)
})

t.test('the same transaction sent twice at once, the second carrying the invite', async (t) => {
  const { hs, rg } = await attackSetup(t)
  hs.executionDelayMs = 300
  const tok = hs.login('mallory', 'D')
  const p = '/_matrix/client/v3/createRoom/m3'
  await Promise.all([
    send(rg.port, 'PUT', p, JSON.stringify({ name: 'harmless' }), tok),
    new Promise((resolve) => setTimeout(resolve, 80)).then(() => send(rg.port, 'PUT', p, createRoomBody(DENIED_EMAIL), tok))
  ])
  t.ok(await notLearned(rg, 'replay'))
  await assertStillDenied(t, hs, rg.port, rg.adminUrl)
})

t.test('a shadow-banned user\'s invite (answered 200, nobody invited), with homeserver.admin_token', async (t) => {
  const hs = await startSynapseLike(t)
  const rg = await startRegguard(t, hs.url, { ...POLICY, admin: { token: ADMIN_TOKEN }, homeserver: { server_name: 'example.org', admin_token: hs.adminToken } })
  const tok = hs.login('mallory')
  hs.setShadowBanned('@mallory:example.org', true)
  const r = await send(rg.port, 'POST', '/_matrix/client/v3/rooms/!x:example.org/invite', roomInviteBody(DENIED_EMAIL), tok)
  t.equal(r.status, 200)
  t.ok(await notLearned(rg, 'inviter-shadow-banned'))
  await assertStillDenied(t, hs, rg.port, rg.adminUrl)
})

t.test('an invite the homeserver made, from an inviter the operator does not trust', async (t) => {
  const hs = await startSynapseLike(t)
  const remote = await startRegguard(t, hs.url, { ...POLICY, admin: { token: ADMIN_TOKEN }, homeserver: { server_name: 'example.org' }, invites: { learn: { inviters: ['@admin:example.org'] } } })
  await send(remote.port, 'POST', '/_matrix/client/v3/rooms/!x:example.org/invite', roomInviteBody(DENIED_EMAIL), hs.login('mallory'))
  t.ok(await notLearned(remote, 'inviter-not-trusted'))
  t.same((await listInvites(remote.adminUrl)).filter((i) => i.address === DENIED_EMAIL), [], 'not learned')
  const r = await requestToken(remote.port, DENIED_EMAIL)
  t.equal(r.status, 403)
  t.same(hs.receivedMatching(REQUEST_TOKEN), [])
})
