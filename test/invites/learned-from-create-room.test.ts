import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { ADMIN_TOKEN, eventually, listInvites } from './helpers.js'

// POST .../createRoom with invite_3pid: each usable entry is recorded, in the room the
// homeserver's 200 answer names; nothing when it refuses.

t.test('each invite_3pid entry of an accepted createRoom is recorded with the new room id', async (t) => {
  const hs = await startHomeserver(t)
  // invites teach only with a known inviter (issue 8): the stand-in names one for each token
  hs.answerWhoami()
  hs.respond(() => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"room_id":"!new:example.org"}' }))
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN } })
  const body = JSON.stringify({
    name: 'team',
    invite: ['@a:example.org'],
    invite_3pid: [
      { id_server: 'is', id_access_token: 't', medium: 'email', address: 'One@Example.org' },
      { id_server: 'is', medium: 'msisdn', address: '447700900123' },
      { id_server: 'is', medium: 'email', address: 'broken' },
      'not an object'
    ]
  })
  const res = await rawPost(rg.port, '/_matrix/client/v3/createRoom', body, { 'Content-Type': 'application/json', Authorization: 'Bearer inviter' })
  t.equal(res.status, 200)
  t.equal(res.body, '{"room_id":"!new:example.org"}', 'the answer reaches the client unchanged')
  t.equal(hs.received[0]!.body.toString(), body, 'forwarded byte for byte')
  const invites = await eventually(async () => { const l = await listInvites(rg.adminUrl); return l.length >= 2 ? l : undefined })
  t.same(invites?.map((i) => [i.medium, i.address, i.room_id, i.source]), [
    ['email', 'one@example.org', '!new:example.org', 'traffic'],
    ['msisdn', '447700900123', '!new:example.org', 'traffic']
  ])
})

t.test('a refused createRoom records nothing', async (t) => {
  const hs = await startHomeserver(t)
  // invites teach only with a known inviter (issue 8): the stand-in names one for each token
  hs.answerWhoami()
  hs.respond((r) => r.body.toString().includes('refused')
    ? { status: 400, headers: { 'Content-Type': 'application/json' }, body: '{"errcode":"M_UNKNOWN","error":"no"}' }
    : { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"room_id":"!ok:x"}' })
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN } })
  for (const prefix of ['api/v1', 'r0', 'v3', 'unstable']) {
    const res = await rawPost(rg.port, `/_matrix/client/${prefix}/createRoom`, JSON.stringify({ invite_3pid: [{ medium: 'email', address: `refused-${prefix.replace('/', '')}@example.org` }] }), { Authorization: 'Bearer inviter' })
    t.equal(res.status, 400)
  }
  // then one accepted: once it is recorded, the refused ones would have been too
  await rawPost(rg.port, '/_matrix/client/r0/createRoom', JSON.stringify({ invite_3pid: [{ medium: 'email', address: 'accepted@example.org' }] }), { Authorization: 'Bearer inviter' })
  const list = await eventually(async () => { const l = await listInvites(rg.adminUrl); return l.length > 0 ? l : undefined })
  t.same(list?.map((i) => [i.address, i.room_id]), [['accepted@example.org', '!ok:x']])
})
