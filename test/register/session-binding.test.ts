import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { startRegguard } from '../helpers/regguard.js'
import { startUiaHomeserver } from '../helpers/uia-homeserver.js'
import { emailStage, POLICY, post, requestEmailToken } from '../gate/register-helpers.js'

// /register accepts a 3PID stage only with a validation session regguard itself let through a
// registration-policed requestToken, whose address passes the policy at the time of /register.

const REGISTER = '/_matrix/client/v3/register'

t.test('a session from an allowed requestToken registers', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, POLICY)
  const tok = await requestEmailToken(rg.port, 'alice@example.org', 'cs1')
  t.equal(tok.status, 200)
  const sid = tok.body.sid as string
  const res = await post(rg.port, REGISTER, { username: 'alice', ...emailStage(sid, 'cs1') })
  t.equal(res.status, 200)
  t.same(hs.accounts, [{ user_id: '@alice:hs', threepid: 'alice@example.org' }])
})

t.test('a session regguard never saw is refused before the homeserver', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, POLICY)
  // validated straight at the homeserver, around regguard
  hs.validated.set('direct', { client_secret: 'cs', address: 'mallory@evil.example' })
  const before = hs.receivedMatching('/register').length
  const res = await post(rg.port, REGISTER, { username: 'm', ...emailStage('direct', 'cs') })
  t.equal(res.status, 403)
  t.equal(res.body.errcode, 'M_THREEPID_DENIED')
  t.equal(hs.receivedMatching('/register').length, before, 'the homeserver never saw it')
  t.same(hs.accounts, [])
})

t.test('the wrong client_secret for a recorded sid is refused', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, POLICY)
  const tok = await requestEmailToken(rg.port, 'alice@example.org', 'cs1')
  const res = await post(rg.port, REGISTER, emailStage(tok.body.sid as string, 'other'))
  t.equal(res.status, 403)
  t.same(hs.accounts, [])
})

t.test('older threePidCreds spelling is checked too, and a second spelling cannot smuggle a session', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, POLICY)
  const good = await requestEmailToken(rg.port, 'alice@example.org', 'cs1')
  hs.validated.set('direct', { client_secret: 'cs', address: 'mallory@evil.example' })
  const old = await post(rg.port, REGISTER, { username: 'a', ...emailStage(good.body.sid as string, 'cs1', undefined, 'threePidCreds') })
  t.equal(old.status, 200, 'threePidCreds alone works')
  const both = await post(rg.port, REGISTER, {
    username: 'm',
    auth: { type: 'm.login.email.identity', threepid_creds: { sid: good.body.sid, client_secret: 'cs1' }, threePidCreds: { sid: 'direct', client_secret: 'cs' } }
  })
  t.equal(both.status, 403)
  t.same(hs.accounts.map((a) => a.user_id), ['@a:hs'])
})

t.test('an address blacklisted after the token was sent is refused at /register', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, POLICY)
  const tok = await requestEmailToken(rg.port, 'bob@late.example.org', 'cs2')
  t.equal(tok.status, 200)
  const stricter = structuredClone(POLICY)
  stricter.register.policy.threepid.email.domain.blacklist.push('late.example.org')
  rg.app.reconfigure(loadConfig({ object: { ...stricter, homeserver: { url: hs.url } }, env: {} }))
  const res = await post(rg.port, REGISTER, emailStage(tok.body.sid as string, 'cs2'))
  t.equal(res.status, 403)
  t.equal(res.body.errcode, 'M_THREEPID_DENIED')
  t.same(hs.accounts, [])
})

t.test('sessions from /account/3pid: accepted while policed, never with only_check_at_registration', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, POLICY)
  const tok = await requestEmailToken(rg.port, 'carol@example.org', 'cs3', 'account')
  t.equal(tok.status, 200)
  t.equal((await post(rg.port, REGISTER, { username: 'carol', ...emailStage(tok.body.sid as string, 'cs3') })).status, 200)

  const hs2 = await startUiaHomeserver(t)
  const open = structuredClone(POLICY) as typeof POLICY & { register: { policy: { only_check_at_registration?: boolean } } }
  open.register.policy.only_check_at_registration = true
  const rg2 = await startRegguard(t, hs2.url, open)
  const evil = await requestEmailToken(rg2.port, 'eve@evil.example', 'cs4', 'account')
  t.equal(evil.status, 200, '/account/3pid is not policed with only_check_at_registration')
  const res = await post(rg2.port, REGISTER, { username: 'eve', ...emailStage(evil.body.sid as string, 'cs4') })
  t.equal(res.status, 403)
  t.same(hs2.accounts, [])
})

t.test('a denied requestToken records nothing', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, POLICY)
  const tok = await requestEmailToken(rg.port, 'eve@evil.example', 'cs5')
  t.equal(tok.status, 403)
  t.equal(await rg.app.context.store.sessions.get('cs5', 'sid1', Date.now()), null)
})
