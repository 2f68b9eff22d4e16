import t from 'tap'
import { randomBytes } from 'node:crypto'
import { startHomeserver, type Homeserver, type Received } from '../helpers/homeserver.js'
import { startRegguard, type Started } from '../helpers/regguard.js'
import { post } from '../helpers/register.js'
import { ADMIN_TOKEN, eventually, listInvites } from '../invites/helpers.js'

// Issue 22, part 1: any local account 3PID-invites an address into its own room, regguard
// learns it, the address registers, and that account does the same: invites compounding past
// the policy. Now every blacklist beats an invite, and an account that registered through a
// learned invite teaches none (invites.learn.invitees_may_invite: false).
// The stand-in: a homeserver on a real port with /register (one flow: an email stage), whoami
// (`@<token>:example.org` for a bearer token) and room invites answered 200.

const SERVER = 'example.org'

function standIn (hs: Homeserver): void {
  hs.answerWhoami(SERVER)
  const sessions = new Set<string>()
  hs.respond((r: Received) => {
    const path = r.url.split('?')[0] ?? ''
    const json = (status: number, body: unknown) => ({ status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    let body: Record<string, unknown> = {}
    try { body = JSON.parse(r.body.toString() || '{}') as Record<string, unknown> } catch { return json(400, { errcode: 'M_NOT_JSON', error: 'Content not JSON.' }) }
    if (path.endsWith('/requestToken')) return json(200, { sid: 'sid' + randomBytes(4).toString('hex') })
    if (/\/rooms\/[^/]*\/invite$/.test(path)) return json(200, {})
    if (path.endsWith('/register')) {
      const auth = (body.auth ?? {}) as Record<string, unknown>
      if (auth.type === 'm.login.email.identity' && typeof auth.session === 'string' && sessions.has(auth.session)) {
        return json(200, { user_id: `@${String(body.username)}:${SERVER}`, access_token: String(body.username), device_id: 'D' })
      }
      const session = randomBytes(6).toString('hex')
      sessions.add(session)
      return json(401, { session, flows: [{ stages: ['m.login.email.identity'] }], params: {} })
    }
    return json(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' })
  })
}

const POLICY = {
  allowed: false,
  threepid: { email: { domain: { whitelist: ['example.org'], blacklist: ['*evil.example'] } } }
}

async function start (t: Parameters<Parameters<typeof t.test>[1]>[0], learn: Record<string, unknown> = {}): Promise<{ hs: Homeserver, rg: Started }> {
  const hs = await startHomeserver(t)
  standIn(hs)
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, homeserver: { server_name: SERVER }, register: { policy: POLICY }, invites: { learn } })
  return { hs, rg }
}

const invite = (rg: Started, token: string, address: string) =>
  post(rg.port, '/_matrix/client/v3/rooms/!room:example.org/invite', { id_server: 'is.example.org', id_access_token: 'x', medium: 'email', address }, { Authorization: `Bearer ${token}` })

const requestToken = (rg: Started, email: string, cs: string) =>
  post(rg.port, '/_matrix/client/v3/register/email/requestToken', { client_secret: cs, email, send_attempt: 1 })

/** Registers `username` with the email through regguard; the answer of the last step. */
async function register (rg: Started, username: string, email: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const cs = 'cs' + randomBytes(4).toString('hex')
  const tok = await requestToken(rg, email, cs)
  if (tok.status !== 200) return tok
  const first = await post(rg.port, '/_matrix/client/v3/register', { username, password: 'p' })
  return await post(rg.port, '/_matrix/client/v3/register', { username, password: 'p', auth: { type: 'm.login.email.identity', session: first.body.session, threepid_creds: { sid: tok.body.sid, client_secret: cs } } })
}

async function learned (rg: Started, address: string): Promise<boolean> {
  return (await eventually(async () => (await listInvites(rg.adminUrl)).some((i) => i.address === address) ? true : undefined, 1500)) === true
}

t.test('an invite does not open a blacklisted address', async (t) => {
  const { hs, rg } = await start(t)
  t.equal((await invite(rg, 'alice', 'x@mailinator.evil.example')).status, 200, 'the homeserver made the invite')
  t.ok(await learned(rg, 'x@mailinator.evil.example'), 'regguard learned it')
  const r = await requestToken(rg, 'x@mailinator.evil.example', 'cs1')
  t.equal(r.status, 403, 'the blacklist still denies the invited address')
  t.equal(r.body.errcode, 'M_THREEPID_DENIED')
  t.same(hs.received.filter((x) => x.url.endsWith('/requestToken')), [], 'no token request reached the homeserver')
})

t.test('an account registered through a learned invite teaches no invites', async (t) => {
  const { hs, rg } = await start(t)
  t.equal((await invite(rg, 'alice', 'mallory@elsewhere.example')).status, 200)
  t.ok(await learned(rg, 'mallory@elsewhere.example'), 'alice\'s invite was learned')
  const reg = await register(rg, 'mallory', 'mallory@elsewhere.example')
  t.equal(reg.status, 200, 'the invited address registers')
  t.equal(reg.body.user_id, '@mallory:example.org')

  const before = hs.received.length
  t.equal((await invite(rg, 'mallory', 'next@elsewhere.example')).status, 200, 'mallory\'s invite is forwarded and answered')
  t.ok(hs.received.length > before, 'it reached the homeserver')
  const line = await eventually(async () => rg.logs.find((l) => l.msg === 'invite not learned' && l.reason === 'inviter-invited'), 2000)
  t.match(line, { inviter: '@mallory:example.org' }, 'not learned: its inviter registered through a learned invite')
  t.notOk((await listInvites(rg.adminUrl)).some((i) => i.address === 'next@elsewhere.example'), 'no invite recorded')
  t.equal((await requestToken(rg, 'next@elsewhere.example', 'cs2')).status, 403, 'the next address stays denied: no compounding')

  // an account that got in by the whitelist invites as before
  t.equal((await register(rg, 'bob', 'bob@example.org')).status, 200)
  await invite(rg, 'bob', 'friend@elsewhere.example')
  t.ok(await learned(rg, 'friend@elsewhere.example'), 'bob (whitelisted, no invite needed) teaches')
})

t.test('invites.learn.invitees_may_invite: true lets invitees teach', async (t) => {
  const { rg } = await start(t, { invitees_may_invite: true })
  await invite(rg, 'alice', 'mallory@elsewhere.example')
  t.ok(await learned(rg, 'mallory@elsewhere.example'))
  t.equal((await register(rg, 'mallory', 'mallory@elsewhere.example')).status, 200)
  await invite(rg, 'mallory', 'next@elsewhere.example')
  t.ok(await learned(rg, 'next@elsewhere.example'), 'learned')
  t.equal((await requestToken(rg, 'next@elsewhere.example', 'cs3')).status, 200)
})

t.test('register.policy.invite_overrides_blacklist: true restores ma1sd\'s order', async (t) => {
  const hs = await startHomeserver(t)
  standIn(hs)
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, homeserver: { server_name: SERVER }, register: { policy: { ...POLICY, invite_overrides_blacklist: true } } })
  await invite(rg, 'alice', 'x@mailinator.evil.example')
  t.ok(await learned(rg, 'x@mailinator.evil.example'))
  t.equal((await requestToken(rg, 'x@mailinator.evil.example', 'cs4')).status, 200, 'the invite beats the blacklist')
})
