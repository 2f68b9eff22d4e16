import t from 'tap'
import { listInvites } from './helpers.js'
import { createRoomBody, invitesWhen, learnSetup, notLearned, roomInviteBody, send } from './learn-helpers.js'

// Whose invites teach: the user the homeserver names for the request's own token, trusted by
// invites.learn.inviters, and (with homeserver.admin_token) neither deactivated nor shadow-banned.

const INVITE = '/_matrix/client/v3/rooms/!r:example.org/invite'

t.test('by default only local users teach; an inviter outside invites.learn.inviters teaches nothing', async (t) => {
  const { hs, rg } = await learnSetup(t, { invites: { learn: { inviters: ['@staff-*:example.org', '@boss:example.org'] } } })
  t.equal((await send(rg.port, 'POST', INVITE, roomInviteBody('from-mallory@example.net'), hs.login('mallory'))).status, 200)
  const refused = await notLearned(rg, 'inviter-not-trusted')
  t.equal(refused?.inviter, '@mallory:example.org', 'the inviter is logged')
  t.notMatch(JSON.stringify(refused), /from-mallory/, 'the address is redacted in the log')
  t.same(hs.invitesMade.map((i) => i.address), ['from-mallory@example.net'], 'forwarded and made all the same')
  t.equal((await send(rg.port, 'POST', INVITE, roomInviteBody('from-staff@example.net'), hs.login('staff-ann'))).status, 200)
  t.equal((await send(rg.port, 'POST', INVITE, roomInviteBody('from-boss@example.net'), hs.login('boss'))).status, 200)
  const list = await invitesWhen(rg, 2)
  t.same(list.map((i) => [i.address, i.inviter]), [['from-staff@example.net', '@staff-ann:example.org'], ['from-boss@example.net', '@boss:example.org']])
})

t.test('the default trusts local users of homeserver.server_name only', async (t) => {
  const { hs, rg } = await learnSetup(t, { homeserver: { server_name: 'other.example' } })
  t.equal((await send(rg.port, 'POST', INVITE, roomInviteBody('x@example.net'), hs.login('alice'))).status, 200)
  t.match(await notLearned(rg, 'inviter-not-trusted'), { inviter: '@alice:example.org' })
  t.same(await listInvites(rg.adminUrl), [])
})

t.test('no token, an unknown or doubled token: nothing learned, still forwarded; a token in a form body names the requester', async (t) => {
  const { hs, rg } = await learnSetup(t)
  t.equal((await send(rg.port, 'POST', INVITE, roomInviteBody('a@example.net'), null)).status, 401, 'the homeserver refuses it')
  t.equal((await send(rg.port, 'POST', INVITE, roomInviteBody('a@example.net'), 'syt_unknown')).status, 401)
  // Synapse refuses a token given twice (header and query): so does the learning
  t.equal((await send(rg.port, 'POST', `${INVITE}?access_token=x`, roomInviteBody('mixed@example.net'), hs.login('alice'))).status, 401)
  // a form POST: Twisted reads the body as arguments, so the token in it is the requester's
  const eve = hs.login('eve')
  const formBody = JSON.stringify({ medium: 'email', address: 'form@example.net', id_server: 'is', pad: `&access_token=${eve}&` })
  const form = await send(rg.port, 'POST', INVITE, formBody, null, { 'Content-Type': 'application/x-www-form-urlencoded' })
  t.equal(hs.received.filter((r) => r.url.startsWith(INVITE)).length, 4, 'all forwarded')
  t.equal(form.status, 200, 'the homeserver took the token from the form body')
  t.same(hs.invitesMade.map((i) => i.by), ['@eve:example.org'])
  t.match(await invitesWhen(rg, 1), [{ address: 'form@example.net', inviter: '@eve:example.org' }], 'regguard read the same requester from the body')
})

t.test('a form POST names its requester in the body: the inviter comes from there', async (t) => {
  const { hs, rg } = await learnSetup(t, { invites: { learn: { inviters: ['@trusted:example.org'] } } })
  const trusted = hs.login('trusted')
  const other = hs.login('other')
  // header token of "trusted", and a form body that also names a token: Synapse refuses the
  // mix, and regguard must not credit "trusted" with it
  const formBody = JSON.stringify({ medium: 'email', address: 'f@example.net', id_server: 'is', pad: `&access_token=${other}&` })
  const mixed = await send(rg.port, 'POST', INVITE, formBody, trusted, { 'Content-Type': 'application/x-www-form-urlencoded' })
  t.equal(mixed.status, 401, 'the homeserver refuses the mix')
  // a form body larger than the copy regguard keeps may carry a token it never read
  const big = JSON.stringify({ medium: 'email', address: 'g@example.net', id_server: 'is', pad: 'x'.repeat(70 * 1024) })
  const r = await send(rg.port, 'POST', INVITE, big, trusted, { 'Content-Type': 'application/x-www-form-urlencoded' })
  t.equal(r.status, 200)
  t.ok(await notLearned(rg, 'too-large'))
  // the same body as JSON (first Content-Type header decides, as in Twisted) names "trusted"
  t.equal((await send(rg.port, 'POST', INVITE, formBody, trusted, { 'Content-Type': 'application/json', 'content-type': 'application/x-www-form-urlencoded' })).status, 200)
  t.match(await invitesWhen(rg, 1), [{ address: 'f@example.net', inviter: '@trusted:example.org' }])
  void other
})

t.test('with homeserver.admin_token: shadow-banned and deactivated inviters teach nothing', async (t) => {
  const { hs, rg } = await learnSetup(t, { homeserver: { admin_token: '' } })
  // set after start: the stand-in makes the admin's token
  const { startRegguard } = await import('../helpers/regguard.js')
  const { ADMIN_TOKEN } = await import('./helpers.js')
  const guarded = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, homeserver: { server_name: 'example.org', admin_token: hs.adminToken } })
  const sb = hs.login('shadowy')
  hs.setShadowBanned('@shadowy:example.org', true)
  const r = await send(guarded.port, 'POST', INVITE, roomInviteBody('ghost@example.net'), sb)
  t.equal(r.status, 200)
  t.equal(r.body, '{}', 'answered 200 {} ...')
  t.same(hs.invitesMade, [], '... without inviting anyone')
  t.match(await notLearned(guarded, 'inviter-shadow-banned'), { inviter: '@shadowy:example.org' })
  // without admin_token regguard cannot tell (documented): this instance learns it
  await send(rg.port, 'POST', INVITE, roomInviteBody('ghost@example.net'), sb)
  t.equal((await invitesWhen(rg, 1)).length, 1)

  const gone = hs.login('leaving')
  hs.deactivate('@leaving:example.org', true)
  t.equal((await send(guarded.port, 'PUT', '/_matrix/client/v3/createRoom/x1', createRoomBody('late@example.net'), gone)).status, 200)
  t.match(await notLearned(guarded, 'inviter-deactivated'), { inviter: '@leaving:example.org' })

  const fine = hs.login('fine')
  t.equal((await send(guarded.port, 'POST', INVITE, roomInviteBody('ok@example.net'), fine)).status, 200)
  t.match(await invitesWhen(guarded, 1), [{ address: 'ok@example.net', inviter: '@fine:example.org' }])
})

t.test('an admin API that does not answer (wrong admin token): nothing learned', async (t) => {
  const { hs, rg } = await learnSetup(t, { homeserver: { admin_token: 'syt_not_an_admin' } })
  t.equal((await send(rg.port, 'POST', INVITE, roomInviteBody('a@example.net'), hs.login('alice'))).status, 200)
  t.ok(await notLearned(rg, 'admin-api-failed'))
  t.same(await listInvites(rg.adminUrl), [])
})
