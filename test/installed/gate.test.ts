import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawRequest } from '../helpers/raw-http.js'
import { startUiaHomeserver, UIA_FLOWS, type UiaHomeserver } from '../helpers/uia-homeserver.js'
import { postJson, postRaw, serve } from './run.js'

// The gate of the installed command: requestToken judged before the homeserver (email and
// msisdn), everything else passed through unchanged, /register bound to the sessions regguard
// let through, and require_3pid.

t.setTimeout(120_000)

const EMAIL_TOKEN = '/_matrix/client/v3/register/email/requestToken'
const MSISDN_TOKEN = '/_matrix/client/v3/register/msisdn/requestToken'
const REGISTER = '/_matrix/client/v3/register'

const POLICY = {
  register: {
    policy: {
      allowed: false,
      threepid: {
        email: { domain: { whitelist: ['*example.org'], blacklist: ['*evil.example'] } },
        // French numbers allowed, British ones denied
        msisdn: { pattern: { whitelist: ['33\\d+'], blacklist: ['44\\d+'] } }
      },
      username: { banned: { literals: ['root'] } }
    }
  }
}

const emailBody = (email: string): string => JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 })
const FR = JSON.stringify({ client_secret: 'cs', country: 'FR', phone_number: '06 12 34 56 78', send_attempt: 1 })
const GB = JSON.stringify({ client_secret: 'cs', country: 'GB', phone_number: '07700 900123', send_attempt: 1 })

t.test('requestToken: denied addresses never reach the homeserver, allowed ones arrive byte for byte', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await serve(t, hs.url, POLICY)
  const json = { 'Content-Type': 'application/json' }

  for (const [what, path, body] of [
    ['blacklisted email', EMAIL_TOKEN, emailBody('eve@evil.example')],
    ['email outside the whitelist', EMAIL_TOKEN, emailBody('bob@elsewhere.test')],
    ['blacklisted number', MSISDN_TOKEN, GB],
    ['blacklisted email, on an existing account', '/_matrix/client/r0/account/3pid/email/requestToken', emailBody('eve@evil.example')]
  ] as const) {
    const res = await postRaw(rg.port, path, body, json)
    t.equal(res.status, 403, `${what}: 403`)
    t.equal(JSON.parse(res.body).errcode, 'M_THREEPID_DENIED', `${what}: M_THREEPID_DENIED`)
  }
  const banned = await rawRequest(rg.port, 'GET /_matrix/client/v3/register/available?username=root HTTP/1.1\r\nHost: matrix.example.org\r\nConnection: close\r\n\r\n', 20_000)
  t.equal(banned.status, 400, 'a banned username at /register/available')
  t.equal(JSON.parse(banned.body).errcode, 'M_INVALID_USERNAME')
  t.same(hs.received, [], 'no denied request reached the homeserver')

  const allowedEmail = await postRaw(rg.port, EMAIL_TOKEN, emailBody('alice@sub.example.org'), json)
  t.equal(allowedEmail.status, 200, 'allowed email forwarded')
  t.match(JSON.parse(allowedEmail.body), { sid: /^sid-/ }, "the homeserver's answer")
  const allowedPhone = await postRaw(rg.port, MSISDN_TOKEN, FR, json)
  t.equal(allowedPhone.status, 200, 'allowed number forwarded')
  t.same(hs.received.map((r) => [r.method, r.url, r.body.toString()]), [
    ['POST', EMAIL_TOKEN, emailBody('alice@sub.example.org')],
    ['POST', MSISDN_TOKEN, FR]
  ], 'the allowed requests arrived unchanged')

  // everything regguard does not police passes through: target, Host and answer kept
  const passed = await rawRequest(rg.port, 'GET /_matrix/client/v3/rooms/!r%3Aexample.org/messages?dir=b&limit=5 HTTP/1.1\r\nHost: matrix.example.org\r\nConnection: close\r\n\r\n', 20_000)
  t.equal(passed.status, 200)
  t.equal(passed.headers['x-homeserver'], 'stand-in', "the homeserver's headers reach the client")
  const last = hs.received.at(-1)
  t.equal(last?.url, '/_matrix/client/v3/rooms/!r%3Aexample.org/messages?dir=b&limit=5', 'the target as sent')
  t.equal(last?.headers.host, 'matrix.example.org', 'Host kept')
  t.equal(JSON.parse(passed.body).path, last?.url)
})

/** Validates an address straight at the homeserver, around regguard; the sid it gave. */
async function validateDirectly (hs: UiaHomeserver, body: Record<string, unknown>): Promise<string> {
  const res = await postRaw(hs.port, EMAIL_TOKEN, JSON.stringify({ send_attempt: 1, ...body }))
  return (JSON.parse(res.body) as { sid: string }).sid
}

const registerArrivals = (hs: UiaHomeserver): number => hs.received.filter((r) => r.url.split('?')[0] === REGISTER).length

t.test('/register: a validation session regguard did not let through is refused before the homeserver', async (t) => {
  const hs = await startUiaHomeserver(t, [...UIA_FLOWS, ['m.login.msisdn']])
  const rg = await serve(t, hs.url, POLICY)
  const good = await postJson(rg.port, EMAIL_TOKEN, { client_secret: 'good', email: 'alice@example.org', send_attempt: 1 })
  t.equal(good.status, 200, 'an allowed address validated through regguard')
  const evilSid = await validateDirectly(hs, { client_secret: 'evil', email: 'eve@evil.example' })
  const directSid = await validateDirectly(hs, { client_secret: 'direct', email: 'bob@example.org' })
  const stage = (sid: string, cs: string): Record<string, unknown> => ({ username: 'mallory', auth: { type: 'm.login.email.identity', threepid_creds: { sid, client_secret: cs } } })

  for (const [what, body] of [
    ['a denied address validated at the homeserver directly', stage(evilSid, 'evil')],
    ['an allowed address validated at the homeserver directly', stage(directSid, 'direct')],
    ['a session regguard recorded, with another client_secret', stage(good.body.sid as string, 'evil')]
  ] as const) {
    const before = registerArrivals(hs)
    const res = await postJson(rg.port, REGISTER, body)
    t.equal(res.status, 403, `${what}: refused`)
    t.equal(res.body.errcode, 'M_THREEPID_DENIED', what)
    t.equal(registerArrivals(hs), before, `${what}: the homeserver never saw it`)
  }
  t.same(hs.accounts, [], 'no account was created')

  const ok = await postJson(rg.port, REGISTER, { username: 'alice', auth: { type: 'm.login.email.identity', threepid_creds: { sid: good.body.sid, client_secret: 'good' } } })
  t.equal(ok.status, 200, 'the session regguard let through registers')
  t.same(hs.accounts, [{ user_id: '@alice:hs', threepid: 'alice@example.org' }])
})

t.test('require_3pid: a dummy-only completion is refused, no account; an email stage registers', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await serve(t, hs.url, { register: { policy: { ...POLICY.register.policy, require_3pid: true } } })
  const first = await postJson(rg.port, REGISTER, { username: 'x', password: 'p' })
  t.equal(first.status, 401, `the flows are asked for (${JSON.stringify(first.body)})`)
  const session = first.body.session as string
  t.ok(session, 'a UIA session')
  const flows = ((first.body.flows ?? []) as Array<{ stages: string[] }>).map((f) => f.stages)
  t.ok(flows.length > 0 && flows.every((stages) => stages.some((s) => s === 'm.login.email.identity' || s === 'm.login.msisdn')), `only flows with a 3PID stage are offered: ${JSON.stringify(flows)}`)

  for (const [what, auth] of [['m.login.dummy in the session', { type: 'm.login.dummy', session }], ['m.login.dummy alone', { type: 'm.login.dummy' }]] as const) {
    const res = await postJson(rg.port, REGISTER, { username: 'mallory', password: 'p', auth })
    t.equal(res.status, 403, `${what}: refused`)
    t.equal(res.body.errcode, 'M_FORBIDDEN', what)
  }
  // regguard may ask the homeserver where a session stands (a body with no stage), never submit the dummy
  t.same(hs.received.filter((r) => r.body.toString().includes('m.login.dummy')), [], 'no dummy stage reached the homeserver')
  t.same(hs.accounts, [], 'no account without a 3PID')

  const tok = await postJson(rg.port, EMAIL_TOKEN, { client_secret: 'cs1', email: 'carol@example.org', send_attempt: 1 })
  t.equal(tok.status, 200)
  const ok = await postJson(rg.port, REGISTER, { username: 'carol', auth: { type: 'm.login.email.identity', threepid_creds: { sid: tok.body.sid, client_secret: 'cs1' } } })
  t.equal(ok.status, 200, 'an email stage through regguard registers')
  t.same(hs.accounts, [{ user_id: '@carol:hs', threepid: 'carol@example.org' }])
})
