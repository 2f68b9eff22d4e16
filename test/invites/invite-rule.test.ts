import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { ADMIN_TOKEN, addInvite, adminCall, sleep } from './helpers.js'

// A pending, unexpired, unrevoked invite allows the requestToken; a revoked or expired one allows
// nothing; invite: false ignores them. By default every blacklist comes first (issue 22); most
// tests here use ma1sd's order (invite_overrides_blacklist), where an invite beats the blacklist.

const lists = {
  allowed: false,
  invite_overrides_blacklist: true,
  threepid: { email: { domain: { blacklist: ['evil.example.org'] } } }
}

function send (port: number, email: string, endpoint = 'register') {
  return rawPost(port, `/_matrix/client/v3/${endpoint}/email/requestToken`, JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 }))
}

t.test('a pending invite allows a blacklisted and a default-denied address', async (t) => {
  const hs = await startHomeserver(t)
  // invites teach only with a known inviter (issue 8): the stand-in names one for each token
  hs.answerWhoami()
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, register: { policy: lists } })
  t.equal((await send(rg.port, 'eve@evil.example.org')).status, 403, 'denied before the invite')
  t.equal((await send(rg.port, 'nobody@example.com')).status, 403)
  t.equal(hs.received.length, 0)

  const a = await addInvite(rg.adminUrl, 'email', 'Eve@EVIL.example.org')
  await addInvite(rg.adminUrl, 'email', 'nobody@example.com')
  for (const endpoint of ['register', 'account/3pid']) {
    t.equal((await send(rg.port, ' EVE@evil.example.org', endpoint)).status, 200, `${endpoint}: any spelling of the invited address`)
    t.equal((await send(rg.port, 'nobody@example.com', endpoint)).status, 200)
  }
  t.equal(hs.received.length, 4)
  const line = rg.logs.find((l) => l.msg === 'policy decision' && l.rule === 'invite')
  t.match(line, { decision: 'allow', rule: 'invite', detail: a.id })
  t.equal((await send(rg.port, 'other@evil.example.org')).status, 403, 'only the invited address')
})

t.test('a revoked or expired invite allows nothing', async (t) => {
  const hs = await startHomeserver(t)
  // invites teach only with a known inviter (issue 8): the stand-in names one for each token
  hs.answerWhoami()
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, register: { policy: lists } })
  const r = await addInvite(rg.adminUrl, 'email', 'revoked@evil.example.org')
  t.equal((await send(rg.port, 'revoked@evil.example.org')).status, 200)
  t.equal((await adminCall(rg.adminUrl, 'DELETE', `/_regguard/admin/v1/invites/${r.id}`)).status, 200)
  t.equal((await send(rg.port, 'revoked@evil.example.org')).status, 403, 'revoked')

  await addInvite(rg.adminUrl, 'email', 'expired@evil.example.org', 50)
  await sleep(100)
  t.equal((await send(rg.port, 'expired@evil.example.org')).status, 403, 'expired')
  t.equal(hs.received.length, 1)
})

t.test('with register.policy.invite false, invites are ignored', async (t) => {
  const hs = await startHomeserver(t)
  // invites teach only with a known inviter (issue 8): the stand-in names one for each token
  hs.answerWhoami()
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, register: { policy: { ...lists, invite: false } } })
  await addInvite(rg.adminUrl, 'email', 'eve@evil.example.org')
  t.equal((await send(rg.port, 'eve@evil.example.org')).status, 403)
  t.equal(hs.received.length, 0)
})

t.test('an invite learned from a room invite opens registration for that address', async (t) => {
  const hs = await startHomeserver(t)
  // invites teach only with a known inviter (issue 8): the stand-in names one for each token
  hs.answerWhoami()
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, register: { policy: lists } })
  const inv = await rawPost(rg.port, '/_matrix/client/v3/rooms/!r:x/invite', JSON.stringify({ id_server: 'is', medium: 'email', address: 'friend@evil.example.org' }), { Authorization: 'Bearer inviter' })
  t.equal(inv.status, 200)
  let status = 0
  for (let i = 0; i < 100 && status !== 200; i++) {
    status = (await send(rg.port, 'friend@evil.example.org')).status
    if (status !== 200) await sleep(25)
  }
  t.equal(status, 200)
})

t.test('by default a blacklist beats a pending invite; the default does not', async (t) => {
  const hs = await startHomeserver(t)
  hs.answerWhoami()
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, register: { policy: { ...lists, invite_overrides_blacklist: false } } })
  await addInvite(rg.adminUrl, 'email', 'eve@evil.example.org')
  await addInvite(rg.adminUrl, 'email', 'nobody@example.com')
  for (const endpoint of ['register', 'account/3pid']) {
    const denied = await send(rg.port, 'eve@evil.example.org', endpoint)
    t.equal(denied.status, 403, `${endpoint}: the invited but blacklisted address is denied`)
    t.equal((await send(rg.port, 'nobody@example.com', endpoint)).status, 200, `${endpoint}: the invite still beats the default`)
  }
  t.equal(hs.received.filter((r) => r.body.toString().includes('evil.example.org')).length, 0, 'the blacklisted one never reached the homeserver')
  t.match(rg.logs.find((l) => l.msg === 'policy decision' && l.decision === 'deny'), { rule: 'blacklist', detail: 'domain evil.example.org' })
})
