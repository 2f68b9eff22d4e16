import t from 'tap'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { startUiaHomeserver, UIA_FLOWS, type UiaHomeserver } from '../helpers/uia-homeserver.js'
import { emailStage, POLICY as REGISTER_POLICY, post, requestEmailToken } from '../helpers/register.js'
import { POLICY } from './helpers.js'
import { loadConfig } from '../../src/config/load.js'
// /register with a 3PID stage: only a validation session regguard let through a policed
// requestToken, for the medium of the stage, passes. Everything else is refused before the
// homeserver sees it, so no account is created (the stand-in's `accounts` stays empty).

const REGISTER = '/_matrix/client/v3/register'
const SYNAPSE_REGISTER = /^\/_matrix\/client\/(?:r0|v3|unstable)\/register$/

/** /register requests that reached the homeserver at a path Synapse would route. */
function registerArrivals (hs: UiaHomeserver): string[] {
  return hs.received.filter((r) => SYNAPSE_REGISTER.test(r.url.split('?')[0] ?? '')).map((r) => r.body.toString())
}

/** Validates an address straight at the homeserver, around regguard. */
async function validateDirectly (hs: UiaHomeserver, body: Record<string, unknown>, medium = 'email'): Promise<string> {
  const res = await rawPost(hs.port, `/_matrix/client/v3/register/${medium}/requestToken`, JSON.stringify({ send_attempt: 1, ...body }))
  return (JSON.parse(res.body) as { sid: string }).sid
}

async function start (t: Parameters<Parameters<typeof t.test>[1]>[0]): Promise<{ hs: UiaHomeserver, port: number, good: { sid: string, cs: string }, phone: { sid: string, cs: string } }> {
  const hs = await startUiaHomeserver(t, [...UIA_FLOWS, ['m.login.msisdn']])
  const rg = await startRegguard(t, hs.url, POLICY)
  const tok = await requestEmailToken(rg.port, 'alice@example.org', 'good')
  t.equal(tok.status, 200, 'an allowed email token through regguard')
  const ph = await post(rg.port, '/_matrix/client/v3/register/msisdn/requestToken', { client_secret: 'phone', country: 'FR', phone_number: '06 12 34 56 78', send_attempt: 1 })
  t.equal(ph.status, 200, 'an allowed phone token through regguard')
  return { hs, port: rg.port, good: { sid: tok.body.sid as string, cs: 'good' }, phone: { sid: ph.body.sid as string, cs: 'phone' } }
}

t.test('3PID stages regguard did not let through are refused before the homeserver', async (t) => {
  const { hs, port, good, phone } = await start(t)
  const evilSid = await validateDirectly(hs, { client_secret: 'evil', email: 'eve@evil.example' })
  const directGoodSid = await validateDirectly(hs, { client_secret: 'direct', email: 'bob@example.org' })
  const directPhone = await validateDirectly(hs, { client_secret: 'dp', country: 'GB', phone_number: '07700 900123' }, 'msisdn')
  const creds = (sid: string, cs: string): Record<string, string> => ({ sid, client_secret: cs })
  const stage = (type: string, fields: Record<string, unknown>): Record<string, unknown> => ({ username: 'mallory', auth: { type, ...fields } })

  const CASES: Array<[string, Record<string, unknown> | string]> = [
    ['creds regguard never saw', stage('m.login.email.identity', { threepid_creds: creds('sid999', 'whatever') })],
    ['a denied address validated at the homeserver directly', stage('m.login.email.identity', { threepid_creds: creds(evilSid, 'evil') })],
    ['an allowed address validated at the homeserver directly', stage('m.login.email.identity', { threepid_creds: creds(directGoodSid, 'direct') })],
    ['a denied phone validated at the homeserver directly', stage('m.login.msisdn', { threepid_creds: creds(directPhone, 'dp') })],
    ['the older threePidCreds spelling', stage('m.login.email.identity', { threePidCreds: creds(evilSid, 'evil') })],
    ['the threepidCreds spelling', stage('m.login.email.identity', { threepidCreds: creds(evilSid, 'evil') })],
    ['good threepid_creds, bad threePidCreds', stage('m.login.email.identity', { threepid_creds: creds(good.sid, good.cs), threePidCreds: creds(evilSid, 'evil') })],
    ['bad threepid_creds, good threePidCreds', stage('m.login.email.identity', { threepid_creds: creds(evilSid, 'evil'), threePidCreds: creds(good.sid, good.cs) })],
    ['empty threepid_creds, bad threePidCreds', stage('m.login.email.identity', { threepid_creds: {}, threePidCreds: creds(evilSid, 'evil') })],
    ['null threepid_creds, bad threePidCreds', stage('m.login.email.identity', { threepid_creds: null, threePidCreds: creds(evilSid, 'evil') })],
    ['a recorded sid with another client_secret', stage('m.login.email.identity', { threepid_creds: creds(good.sid, 'evil') })],
    ['a numeric sid', stage('m.login.email.identity', { threepid_creds: { sid: 1, client_secret: 'evil' } })],
    ['email stage, phone session', stage('m.login.email.identity', { threepid_creds: creds(phone.sid, phone.cs) })],
    ['phone stage, email session', stage('m.login.msisdn', { threepid_creds: creds(good.sid, good.cs) })],
    ['duplicate auth, the bad one last', `{"username":"mallory","auth":{"type":"m.login.email.identity","threepid_creds":{"sid":"${good.sid}","client_secret":"good"}},"auth":{"type":"m.login.email.identity","threepid_creds":{"sid":"${evilSid}","client_secret":"evil"}}}`],
    ['duplicate threepid_creds, the bad one last', `{"username":"mallory","auth":{"type":"m.login.email.identity","threepid_creds":{"sid":"${good.sid}","client_secret":"good"},"threepid_creds":{"sid":"${evilSid}","client_secret":"evil"}}}`],
    ['duplicate type, the 3PID one last', `{"username":"mallory","auth":{"type":"m.login.dummy","threepid_creds":{"sid":"${evilSid}","client_secret":"evil"},"type":"m.login.email.identity"}}`]
  ]
  for (const [name, body] of CASES) {
    const before = hs.received.length
    const res = await post(port, REGISTER, body)
    t.equal(res.status, 403, `${name}: refused`)
    t.equal(res.body.errcode, 'M_THREEPID_DENIED', name)
    t.equal(hs.received.length, before, `${name}: the homeserver never saw it`)
  }
  t.same(hs.accounts, [], 'no account was created')
})

t.test('controls: the session regguard let through registers, also as the last duplicate', async (t) => {
  const { hs, port, good, phone } = await start(t)
  const evilSid = await validateDirectly(hs, { client_secret: 'evil', email: 'eve@evil.example' })
  const last = await post(port, REGISTER, `{"username":"alice","auth":{"type":"m.login.email.identity","threepid_creds":{"sid":"${evilSid}","client_secret":"evil"},"threepid_creds":{"sid":"${good.sid}","client_secret":"good"}}}`)
  t.equal(last.status, 200, 'the last duplicate is the one Synapse reads, and it is good')
  const ph = await post(port, REGISTER, { username: 'phil', auth: { type: 'm.login.msisdn', threepid_creds: { sid: phone.sid, client_secret: phone.cs } } })
  t.equal(ph.status, 200, 'a phone session as a phone stage')
  t.same(hs.accounts, [{ user_id: '@alice:hs', threepid: 'alice@example.org' }, { user_id: '@phil:hs', threepid: '06 12 34 56 78' }])
})

t.test('a /register body Synapse cannot read creates nothing', async (t) => {
  const { hs, port, good } = await start(t)
  const evilSid = await validateDirectly(hs, { client_secret: 'evil', email: 'eve@evil.example' })
  const json = JSON.stringify({ username: 'mallory', ...emailStage(evilSid, 'evil') })
  for (const body of [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]), Buffer.from(json, 'utf16le'), Buffer.from(json + ',')]) {
    const res = await rawPost(port, REGISTER, body, { 'Content-Type': 'application/json' })
    t.equal(res.status, 400, 'refused as not JSON')
  }
  t.equal(good.cs, 'good')
  t.same(hs.accounts, [])
})

t.test('spellings of /register Synapse would not route reach it only as such', async (t) => {
  const { hs, port } = await start(t)
  const evilSid = await validateDirectly(hs, { client_secret: 'evil', email: 'eve@evil.example' })
  const body = { username: 'mallory', ...emailStage(evilSid, 'evil') }
  for (const target of ['/_matrix/client/v3/register?kind=user', '/_matrix/client/r0/register', '/_matrix/client/unstable/register']) {
    const res = await post(port, target, body)
    t.equal(res.status, 403, `${target}: policed`)
  }
  for (const target of ['/_matrix/client/v3/register/', '//_matrix/client/v3/register', '/_matrix/client/v3/%72egister', '/_matrix/client/V3/register', '/_matrix/client/v3/./register', '/_matrix/client/v3/register%2F', '/_matrix/client/v3/register;x']) {
    await post(port, target, body)
  }
  t.same(registerArrivals(hs), [], 'no /register Synapse would route arrived with those creds')
})

// ---- sessions bound to the requestToken regguard let through, and to the policy at the time of /register ----

// /register accepts a 3PID stage only with a validation session regguard itself let through a
// registration-policed requestToken, whose address passes the policy at the time of /register.

const REGISTER_PATH = '/_matrix/client/v3/register'

t.test('a session from an allowed requestToken registers', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, REGISTER_POLICY)
  const tok = await requestEmailToken(rg.port, 'alice@example.org', 'cs1')
  t.equal(tok.status, 200)
  const sid = tok.body.sid as string
  const res = await post(rg.port, REGISTER_PATH, { username: 'alice', ...emailStage(sid, 'cs1') })
  t.equal(res.status, 200)
  t.same(hs.accounts, [{ user_id: '@alice:hs', threepid: 'alice@example.org' }])
})

t.test('a session regguard never saw is refused before the homeserver', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, REGISTER_POLICY)
  // validated straight at the homeserver, around regguard
  hs.validated.set('direct', { client_secret: 'cs', address: 'mallory@evil.example' })
  const before = hs.receivedMatching('/register').length
  const res = await post(rg.port, REGISTER_PATH, { username: 'm', ...emailStage('direct', 'cs') })
  t.equal(res.status, 403)
  t.equal(res.body.errcode, 'M_THREEPID_DENIED')
  t.equal(hs.receivedMatching('/register').length, before, 'the homeserver never saw it')
  t.same(hs.accounts, [])
})

t.test('the wrong client_secret for a recorded sid is refused', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, REGISTER_POLICY)
  const tok = await requestEmailToken(rg.port, 'alice@example.org', 'cs1')
  const res = await post(rg.port, REGISTER_PATH, emailStage(tok.body.sid as string, 'other'))
  t.equal(res.status, 403)
  t.same(hs.accounts, [])
})

t.test('older threePidCreds spelling is checked too, and a second spelling cannot smuggle a session', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, REGISTER_POLICY)
  const good = await requestEmailToken(rg.port, 'alice@example.org', 'cs1')
  hs.validated.set('direct', { client_secret: 'cs', address: 'mallory@evil.example' })
  const old = await post(rg.port, REGISTER_PATH, { username: 'a', ...emailStage(good.body.sid as string, 'cs1', undefined, 'threePidCreds') })
  t.equal(old.status, 200, 'threePidCreds alone works')
  const both = await post(rg.port, REGISTER_PATH, {
    username: 'm',
    auth: { type: 'm.login.email.identity', threepid_creds: { sid: good.body.sid, client_secret: 'cs1' }, threePidCreds: { sid: 'direct', client_secret: 'cs' } }
  })
  t.equal(both.status, 403)
  t.same(hs.accounts.map((a) => a.user_id), ['@a:hs'])
})

t.test('an address blacklisted after the token was sent is refused at /register', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, REGISTER_POLICY)
  const tok = await requestEmailToken(rg.port, 'bob@late.example.org', 'cs2')
  t.equal(tok.status, 200)
  const stricter = structuredClone(REGISTER_POLICY)
  stricter.register.policy.threepid.email.domain.blacklist.push('late.example.org')
  rg.app.reconfigure(loadConfig({ object: { ...stricter, homeserver: { url: hs.url } }, env: {} }))
  const res = await post(rg.port, REGISTER_PATH, emailStage(tok.body.sid as string, 'cs2'))
  t.equal(res.status, 403)
  t.equal(res.body.errcode, 'M_THREEPID_DENIED')
  t.same(hs.accounts, [])
})

t.test('sessions from /account/3pid: accepted while policed, never with only_check_at_registration', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, REGISTER_POLICY)
  const tok = await requestEmailToken(rg.port, 'carol@example.org', 'cs3', 'account')
  t.equal(tok.status, 200)
  t.equal((await post(rg.port, REGISTER_PATH, { username: 'carol', ...emailStage(tok.body.sid as string, 'cs3') })).status, 200)

  const hs2 = await startUiaHomeserver(t)
  const open = structuredClone(REGISTER_POLICY) as typeof REGISTER_POLICY & { register: { policy: { only_check_at_registration?: boolean } } }
  open.register.policy.only_check_at_registration = true
  const rg2 = await startRegguard(t, hs2.url, open)
  const evil = await requestEmailToken(rg2.port, 'eve@evil.example', 'cs4', 'account')
  t.equal(evil.status, 200, '/account/3pid is not policed with only_check_at_registration')
  const res = await post(rg2.port, REGISTER_PATH, { username: 'eve', ...emailStage(evil.body.sid as string, 'cs4') })
  t.equal(res.status, 403)
  t.same(hs2.accounts, [])
})

t.test('a denied requestToken records nothing', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, REGISTER_POLICY)
  const tok = await requestEmailToken(rg.port, 'eve@evil.example', 'cs5')
  t.equal(tok.status, 403)
  t.equal(await rg.app.context.store.sessions.get('cs5', 'sid1', Date.now()), null)
})
