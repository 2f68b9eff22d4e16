import t from 'tap'
import { startRegguard } from '../helpers/regguard.js'
import { startUiaHomeserver } from '../helpers/uia-homeserver.js'
import { emailStage, POLICY, post, requestEmailToken } from '../gate/register-helpers.js'

// register.policy.require_3pid: no account through regguard without a 3PID stage that passed
// the policy. The stand-in offers [[dummy]], [[email]], [[recaptcha, dummy]], [[registration_token]].

const REGISTER = '/_matrix/client/v3/register'
const strict = structuredClone(POLICY) as typeof POLICY & { register: { policy: { require_3pid?: boolean } } }
strict.register.policy.require_3pid = true

t.test('401 flows keep only those with an email or phone stage', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, strict)
  const res = await post(rg.port, REGISTER, { username: 'x' })
  t.equal(res.status, 401)
  t.same(res.body.flows, [{ stages: ['m.login.email.identity'] }])
  t.type(res.body.session, 'string', 'the rest of the answer is kept')
  t.equal(res.headers['content-length'], String(Buffer.byteLength(JSON.stringify(res.body))), 'length matches the rewritten body')
})

t.test('without require_3pid the flows pass unchanged', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, POLICY)
  const res = await post(rg.port, REGISTER, { username: 'x' })
  t.equal((res.body.flows as unknown[]).length, 4)
})

t.test('a homeserver with no 3PID flow at all: the answer says so', async (t) => {
  const hs = await startUiaHomeserver(t, [['m.login.dummy']])
  const rg = await startRegguard(t, hs.url, strict)
  const res = await post(rg.port, REGISTER, { username: 'x' })
  t.equal(res.status, 403)
  t.equal(res.body.errcode, 'M_FORBIDDEN')
  t.match(res.body.error, /email address or phone number/)
})

for (const [name, auth] of [
  ['m.login.dummy', { type: 'm.login.dummy' }],
  ['m.login.registration_token alone', { type: 'm.login.registration_token', token: 'valid' }]
] as const) {
  t.test(`${name} is refused, with or without a session`, async (t) => {
    const hs = await startUiaHomeserver(t)
    const rg = await startRegguard(t, hs.url, strict)
    const first = await post(rg.port, REGISTER, { username: 'x' })
    for (const a of [auth, { ...auth, session: first.body.session }]) {
      const res = await post(rg.port, REGISTER, { username: 'x', auth: a })
      t.equal(res.status, 403)
      t.equal(res.body.errcode, 'M_FORBIDDEN')
      t.match(res.body.error, /email address or phone number/)
    }
    t.same(hs.accounts, [], 'no account was created')
  })
}

t.test('recaptcha then dummy: the stage that would finish the 3PID-free flow is refused', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, strict)
  const first = await post(rg.port, REGISTER, { username: 'x' })
  const session = first.body.session as string
  const captcha = await post(rg.port, REGISTER, { auth: { type: 'm.login.recaptcha', response: 'ok', session } })
  t.equal(captcha.status, 401, 'recaptcha alone finishes nothing, so it passes')
  const dummy = await post(rg.port, REGISTER, { auth: { type: 'm.login.dummy', session } })
  t.equal(dummy.status, 403)
  t.same(hs.accounts, [])
})

t.test('the email flow still works end to end', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, strict)
  const first = await post(rg.port, REGISTER, { username: 'dora' })
  const tok = await requestEmailToken(rg.port, 'dora@example.org', 'cs9')
  const res = await post(rg.port, REGISTER, { username: 'dora', ...emailStage(tok.body.sid as string, 'cs9', first.body.session as string) })
  t.equal(res.status, 200)
  t.same(hs.accounts, [{ user_id: '@dora:hs', threepid: 'dora@example.org' }])
})

t.test('application services pass untouched', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, strict)
  const res = await post(rg.port, REGISTER, { username: 'bridge_1', type: 'm.login.application_service', auth: { type: 'm.login.application_service' } }, { Authorization: 'Bearer as_token' })
  t.equal(res.status, 200)
  t.same(hs.accounts, [{ user_id: '@bridge_1:hs', threepid: null }])
})

t.test('guest registration is refused', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, strict)
  const res = await post(rg.port, `${REGISTER}?kind=guest`, {})
  t.equal(res.status, 403)
  t.same(hs.accounts, [])
})
