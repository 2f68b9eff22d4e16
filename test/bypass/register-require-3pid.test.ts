import t from 'tap'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { startUiaHomeserver, type UiaHomeserver } from '../helpers/uia-homeserver.js'
import { emailStage, POLICY as REGISTER_POLICY, post, requestEmailToken } from '../helpers/register.js'
import { POLICY } from './helpers.js'
// register.policy.require_3pid: no account through regguard without a 3PID stage that passed the
// policy. The stand-in offers [[dummy]], [[email]], [[recaptcha, dummy]], [[registration_token]].

const REGISTER = '/_matrix/client/v3/register'
const STRICT = { register: { policy: { ...POLICY.register.policy, require_3pid: true } } }

async function start (t: Parameters<Parameters<typeof t.test>[1]>[0], flows?: string[][]): Promise<{ hs: UiaHomeserver, port: number }> {
  const hs = await startUiaHomeserver(t, flows)
  const rg = await startRegguard(t, hs.url, STRICT)
  return { hs, port: rg.port }
}

async function newSession (port: number): Promise<string> {
  const res = await post(port, REGISTER, { username: 'x', password: 'p' })
  return res.body.session as string
}

t.test('3PID-free completions are refused, no account created', async (t) => {
  const { hs, port } = await start(t)
  const s1 = await newSession(port)
  const CASES: Array<[string, Record<string, unknown>]> = [
    ['m.login.dummy without a session', { auth: { type: 'm.login.dummy' } }],
    ['m.login.dummy in a session', { auth: { type: 'm.login.dummy', session: s1 } }],
    ['m.login.registration_token alone', { auth: { type: 'm.login.registration_token', token: 'valid', session: s1 } }],
    ['m.login.registration_token without a session', { auth: { type: 'm.login.registration_token', token: 'valid' } }],
    ['an unknown session id', { auth: { type: 'm.login.dummy', session: 'nosuch' } }],
    ['appservice type in the body without a token, dummy in auth', { type: 'm.login.application_service', auth: { type: 'm.login.dummy' } }]
  ]
  for (const [name, body] of CASES) {
    const res = await post(port, REGISTER, { username: 'mallory', password: 'p', ...body })
    t.equal(res.status, 403, `${name}: refused`)
    t.equal(res.body.errcode, 'M_FORBIDDEN', name)
    t.match(res.body.error, /email address or phone number/, name)
  }
  t.same(hs.accounts, [])
})

t.test('recaptcha then dummy: the dummy is refused', async (t) => {
  const { hs, port } = await start(t)
  const session = await newSession(port)
  t.equal((await post(port, REGISTER, { auth: { type: 'm.login.recaptcha', response: 'ok', session } })).status, 401)
  t.equal((await post(port, REGISTER, { auth: { type: 'm.login.dummy', session } })).status, 403)
  t.same(hs.accounts, [])
})

// Synapse's own flows when it does not require a 3PID: [[recaptcha, dummy], [recaptcha, email]].
// m.login.dummy serves only the 3PID-free flow. Were it passed while it finishes nothing, the
// recaptcha could be completed where regguard never looks (the fallback page
// /_matrix/client/v3/auth/m.login.recaptcha/fallback/web, or a concurrent /register), and the
// next /register would create an account without a 3PID.
const SYNAPSE_FLOWS = [['m.login.recaptcha', 'm.login.dummy'], ['m.login.recaptcha', 'm.login.email.identity']]

t.test('require_3pid: m.login.dummy submitted first is refused (it serves only 3PID-free flows)', async (t) => {
  const { hs, port } = await start(t, SYNAPSE_FLOWS)
  const session = await newSession(port)
  const res = await post(port, REGISTER, { auth: { type: 'm.login.dummy', session } })
  t.equal(res.status, 403, 'refused before the homeserver records it')
  t.equal(res.body.errcode, 'M_FORBIDDEN')
  t.notOk(hs.received.some((r) => r.body.includes('m.login.dummy')), 'the homeserver never saw the dummy stage')
  // the fallback page's part, played straight at the homeserver: recaptcha completes nothing alone
  t.same(hs.accounts, [])
})

t.test('require_3pid: recaptcha and dummy sent together cannot race past the check', async (t) => {
  const { hs, port } = await start(t, SYNAPSE_FLOWS)
  for (let i = 0; i < 5; i++) {
    const session = await newSession(port)
    await Promise.all([
      post(port, REGISTER, { auth: { type: 'm.login.recaptcha', response: 'ok', session } }),
      post(port, REGISTER, { auth: { type: 'm.login.dummy', session } })
    ])
  }
  t.same(hs.accounts, [], 'no account from any of the races')
})

t.test('the email flow still works with Synapse-like flows', async (t) => {
  const { hs, port } = await start(t, SYNAPSE_FLOWS)
  const session = await newSession(port)
  t.equal((await post(port, REGISTER, { auth: { type: 'm.login.recaptcha', response: 'ok', session } })).status, 401, 'recaptcha serves the email flow too: passed')
  const tok = await requestEmailToken(port, 'dora@example.org', 'cs')
  const res = await post(port, REGISTER, { username: 'dora', ...emailStage(tok.body.sid as string, 'cs', session) })
  t.equal(res.status, 200)
  t.same(hs.accounts, [{ user_id: '@dora:hs', threepid: 'dora@example.org' }])
})

/** Twisted's reading of the query: split on & and ;, "+" is a space, then percent-decoded. */
function kinds (target: string): string[] {
  const q = target.indexOf('?')
  if (q === -1) return []
  return target.slice(q + 1).split(/[&;]/).map((p) => p.split('=')).filter(([k]) => unquote(k ?? '') === 'kind').map(([, v]) => unquote(v ?? ''))
}
function unquote (s: string): string {
  return s.replace(/\+/g, ' ').replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))
}

t.test('require_3pid: guest registration in any spelling of kind=guest is refused', async (t) => {
  const { hs, port } = await start(t)
  const targets = [
    `${REGISTER}?kind=guest`,
    `${REGISTER}?kind=gues%74`,
    `${REGISTER}?kind=%67%75%65%73%74`,
    `${REGISTER}?%6bind=guest`,
    `${REGISTER}?%6Bind=%47uest`.replace('%47', '%67'),
    `${REGISTER}?x=1;kind=guest`,
    `${REGISTER}?kind=guest&kind=user`,
    '/_matrix/client/r0/register?kind=guest',
    '/_matrix/client/unstable/register?access_token=&kind=guest'
  ]
  for (const target of targets) {
    t.equal(kinds(target)[0], 'guest', `${target} asks Synapse for a guest`)
    const res = await rawPost(port, target, '{}', { 'Content-Type': 'application/json' })
    t.equal(res.status, 403, `${target}: refused`)
  }
  const guests = hs.received.filter((r) => /\/register(\?|$)/.test(r.url) && kinds(r.url)[0] === 'guest').map((r) => r.url)
  t.same(guests, [], 'no guest registration reached the homeserver')
  t.same(hs.accounts, [])
})

t.test('application services pass untouched', async (t) => {
  const { hs, port } = await start(t)
  const body = JSON.stringify({ type: 'm.login.application_service', username: 'bridge_1', auth: { type: 'm.login.application_service' } })
  const res = await rawPost(port, REGISTER, body, { 'Content-Type': 'application/json', Authorization: 'Bearer as_token' })
  t.equal(res.status, 200)
  t.equal(hs.received.at(-1)?.body.toString(), body, 'forwarded byte for byte')
  t.equal(hs.received.length, 1, 'no probe')
  t.same(hs.accounts, [{ user_id: '@bridge_1:hs', threepid: null }])
})

// ---- register.policy.require_3pid against the stand-in's flows, one request at a time ----

// register.policy.require_3pid: no account through regguard without a 3PID stage that passed
// the policy. The stand-in offers [[dummy]], [[email]], [[recaptcha, dummy]], [[registration_token]].

const REGISTER_PATH = '/_matrix/client/v3/register'
const strict = structuredClone(REGISTER_POLICY) as typeof REGISTER_POLICY & { register: { policy: { require_3pid?: boolean } } }
strict.register.policy.require_3pid = true

t.test('401 flows keep only those with an email or phone stage', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, strict)
  const res = await post(rg.port, REGISTER_PATH, { username: 'x' })
  t.equal(res.status, 401)
  t.same(res.body.flows, [{ stages: ['m.login.email.identity'] }])
  t.type(res.body.session, 'string', 'the rest of the answer is kept')
  t.equal(res.headers['content-length'], String(Buffer.byteLength(JSON.stringify(res.body))), 'length matches the rewritten body')
})

t.test('without require_3pid the flows pass unchanged', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, REGISTER_POLICY)
  const res = await post(rg.port, REGISTER_PATH, { username: 'x' })
  t.equal((res.body.flows as unknown[]).length, 4)
})

t.test('a homeserver with no 3PID flow at all: the answer says so', async (t) => {
  const hs = await startUiaHomeserver(t, [['m.login.dummy']])
  const rg = await startRegguard(t, hs.url, strict)
  const res = await post(rg.port, REGISTER_PATH, { username: 'x' })
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
    const first = await post(rg.port, REGISTER_PATH, { username: 'x' })
    for (const a of [auth, { ...auth, session: first.body.session }]) {
      const res = await post(rg.port, REGISTER_PATH, { username: 'x', auth: a })
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
  const first = await post(rg.port, REGISTER_PATH, { username: 'x' })
  const session = first.body.session as string
  const captcha = await post(rg.port, REGISTER_PATH, { auth: { type: 'm.login.recaptcha', response: 'ok', session } })
  t.equal(captcha.status, 401, 'recaptcha alone finishes nothing, so it passes')
  const dummy = await post(rg.port, REGISTER_PATH, { auth: { type: 'm.login.dummy', session } })
  t.equal(dummy.status, 403)
  t.same(hs.accounts, [])
})

t.test('the email flow still works end to end', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, strict)
  const first = await post(rg.port, REGISTER_PATH, { username: 'dora' })
  const tok = await requestEmailToken(rg.port, 'dora@example.org', 'cs9')
  const res = await post(rg.port, REGISTER_PATH, { username: 'dora', ...emailStage(tok.body.sid as string, 'cs9', first.body.session as string) })
  t.equal(res.status, 200)
  t.same(hs.accounts, [{ user_id: '@dora:hs', threepid: 'dora@example.org' }])
})

t.test('application services pass untouched', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, strict)
  const res = await post(rg.port, REGISTER_PATH, { username: 'bridge_1', type: 'm.login.application_service', auth: { type: 'm.login.application_service' } }, { Authorization: 'Bearer as_token' })
  t.equal(res.status, 200)
  t.same(hs.accounts, [{ user_id: '@bridge_1:hs', threepid: null }])
})

t.test('guest registration is refused', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, strict)
  const res = await post(rg.port, `${REGISTER_PATH}?kind=guest`, {})
  t.equal(res.status, 403)
  t.same(hs.accounts, [])
})
