import t from 'tap'
import { rawRequest, type RawResponse } from '../helpers/raw-http.js'
import { startSynapseLike } from '../helpers/synapse-like.js'
import { adminCall, eventually, serve, type Served } from './run.js'

// Invites learned by the installed command from the traffic it forwards (createRoom's
// invite_3pid, POST and PUT room invites), against the Synapse-like stand-in: the inviter is
// who the homeserver's whoami names for the request's token, trusted by invites.learn.inviters
// and, with homeserver.admin_token, in good standing by the admin user API. Both lookups go
// through regguard's own connection pool: in the shipped command that pool once had no
// request() (a private undici file), every lookup failed and nothing was learned.

t.setTimeout(120_000)

const EMAIL_TOKEN = '/_matrix/client/v3/register/email/requestToken'
// nothing is allowed but invited addresses
const CLOSED = { register: { policy: { allowed: false } }, homeserver: { server_name: 'example.org' } }

function send (port: number, method: 'PUT' | 'POST', target: string, body: unknown, token: string | null): Promise<RawResponse> {
  const b = Buffer.from(JSON.stringify(body))
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: matrix.example.org', 'Connection: close', 'Content-Type: application/json', `Content-Length: ${b.length}`]
  if (token !== null) lines.push(`Authorization: Bearer ${token}`)
  return rawRequest(port, Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), b]), 20_000)
}

const threepid = (address: string): Record<string, string> => ({ id_server: 'is.example.org', id_access_token: 'x', medium: 'email', address })
const requestToken = (port: number, email: string): Promise<RawResponse> => send(port, 'POST', EMAIL_TOKEN, { client_secret: 'cs', email, send_attempt: 1 }, null)

async function invites (rg: Served): Promise<Array<Record<string, unknown>>> {
  const r = await adminCall(rg.adminUrl, 'GET', '/_regguard/admin/v1/invites?limit=1000')
  if (r.status !== 200) throw new Error(`listing invites answered ${r.status}`)
  return r.body.invites
}
const invitesWhen = async (rg: Served, n: number): Promise<Array<Record<string, unknown>>> =>
  (await eventually(async () => { const l = await invites(rg); return l.length >= n ? l : undefined }, 15_000)) ?? await invites(rg)
const notLearned = (rg: Served, reason: string): Promise<Record<string, unknown> | undefined> =>
  eventually(() => rg.logs.find((l) => l.msg === 'invite not learned' && l.reason === reason), 15_000)

t.test('createRoom and room invites made through regguard open registration for the invitees', async (t) => {
  const hs = await startSynapseLike(t)
  const rg = await serve(t, hs.url, CLOSED)
  const alice = hs.login('alice')
  t.equal((await requestToken(rg.port, 'bob@partner.test')).status, 403, 'not invited yet: denied')

  const created = await send(rg.port, 'POST', '/_matrix/client/v3/createRoom', { name: 'team', invite_3pid: [threepid('Bob@Partner.test'), threepid('carol@partner.test')] }, alice)
  t.equal(created.status, 200, 'createRoom forwarded')
  const roomId = JSON.parse(created.body).room_id as string
  t.same(hs.invitesMade.map((i) => i.address), ['Bob@Partner.test', 'carol@partner.test'], 'the homeserver made the invites')
  const fromCreate = await invitesWhen(rg, 2)
  t.same(fromCreate.map((i) => [i.medium, i.address, i.room_id, i.source, i.inviter]), [
    ['email', 'bob@partner.test', roomId, 'traffic', '@alice:example.org'],
    ['email', 'carol@partner.test', roomId, 'traffic', '@alice:example.org']
  ], 'learned from createRoom, the inviter named by whoami')

  const invited = await send(rg.port, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, threepid('dave@partner.test'), alice)
  t.equal(invited.status, 200, 'room invite forwarded')
  const all = await invitesWhen(rg, 3)
  t.match(all.find((i) => i.address === 'dave@partner.test'), { room_id: roomId, inviter: '@alice:example.org', source: 'traffic' }, 'learned from the room invite')

  // a PUT invite teaches once per transaction: Synapse answers a repeat from its cache
  const put = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite/txn1`
  t.equal((await send(rg.port, 'PUT', put, threepid('erin@partner.test'), alice)).status, 200)
  t.equal((await send(rg.port, 'PUT', put, threepid('mallory@partner.test'), alice)).status, 200, 'the replay is answered from the cache')
  t.ok(await notLearned(rg, 'replay'), 'the replayed transaction is not learned')
  t.same(hs.invitesMade.map((i) => i.address).slice(2), ['dave@partner.test', 'erin@partner.test'], 'the homeserver invited nobody for the replay')

  t.equal(rg.logs.filter((l) => l.msg === 'invite not learned' && l.reason !== 'replay').length, 0, `no other invite went unlearned: ${JSON.stringify(rg.logs.filter((l) => l.msg === 'invite not learned'))}`)
  t.ok(hs.received.some((r) => r.url.startsWith('/_matrix/client/v3/account/whoami')), 'whoami was asked of the homeserver')
  for (const email of ['bob@partner.test', 'carol@partner.test', 'dave@partner.test', 'erin@partner.test']) {
    t.equal((await requestToken(rg.port, email)).status, 200, `${email}: invited, allowed`)
  }
  t.equal((await requestToken(rg.port, 'mallory@partner.test')).status, 403, 'the replay taught nothing')
  t.equal(hs.receivedMatching('requestToken').length, 4, 'only the invited addresses reached the homeserver')
})

t.test('invites.learn.inviters and homeserver.admin_token: only trusted inviters in good standing teach', async (t) => {
  const hs = await startSynapseLike(t)
  const rg = await serve(t, hs.url, { ...CLOSED, homeserver: { server_name: 'example.org', admin_token: hs.adminToken }, invites: { learn: { inviters: ['@staff-*:example.org'] } } })
  const room = '/_matrix/client/v3/rooms/!r%3Aexample.org/invite'
  const tokens = { mallory: hs.login('mallory'), banned: hs.login('staff-banned'), gone: hs.login('staff-gone'), ann: hs.login('staff-ann') }
  hs.setShadowBanned(hs.userId('staff-banned'), true)
  hs.deactivate(hs.userId('staff-gone'), true)

  t.equal((await send(rg.port, 'POST', room, threepid('from-mallory@partner.test'), tokens.mallory)).status, 200)
  t.match(await notLearned(rg, 'inviter-not-trusted'), { inviter: '@mallory:example.org' }, 'an inviter outside invites.learn.inviters')
  t.equal((await send(rg.port, 'POST', room, threepid('from-banned@partner.test'), tokens.banned)).status, 200, 'a shadow-banned user is answered 200')
  t.match(await notLearned(rg, 'inviter-shadow-banned'), { inviter: '@staff-banned:example.org' }, 'the admin API says shadow-banned')
  t.equal((await send(rg.port, 'POST', room, threepid('from-gone@partner.test'), tokens.gone)).status, 200)
  t.match(await notLearned(rg, 'inviter-deactivated'), { inviter: '@staff-gone:example.org' }, 'the admin API says deactivated')
  t.equal((await send(rg.port, 'POST', room, threepid('from-ann@partner.test'), tokens.ann)).status, 200)
  const list = await invitesWhen(rg, 1)
  t.same(list.map((i) => [i.address, i.inviter]), [['from-ann@partner.test', '@staff-ann:example.org']], 'only the trusted inviter in good standing taught')
  t.ok(hs.received.some((r) => r.url === `/_synapse/admin/v2/users/${encodeURIComponent('@staff-ann:example.org')}` && r.headers.authorization === `Bearer ${hs.adminToken}`), "the inviter's standing was asked with the admin token")
  const failed = rg.logs.filter((l) => l.msg === 'invite not learned' && (l.reason === 'whoami-failed' || l.reason === 'admin-api-failed'))
  t.same(failed, [], 'no lookup failed')

  t.equal((await requestToken(rg.port, 'from-ann@partner.test')).status, 200)
  for (const email of ['from-mallory@partner.test', 'from-banned@partner.test', 'from-gone@partner.test']) {
    t.equal((await requestToken(rg.port, email)).status, 403, `${email}: not learned, denied`)
  }
})
