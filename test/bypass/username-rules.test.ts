import t from 'tap'
import { startHomeserver, type Homeserver } from '../helpers/homeserver.js'
import { rawPost, rawRequest } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// Username rules (register.policy.username, as MAS's allowed/banned usernames) through the
// proxy: a refused name gets 400 M_INVALID_USERNAME and never reaches the homeserver, however
// it is spelled or wherever in the UIA exchange it comes; an allowed one arrives byte for byte.

const REGISTER = '/_matrix/client/v3/register'
const SYNAPSE_REGISTER = /^\/_matrix\/client\/(?:r0|v3|unstable)\/register$/
// Synapse's own pattern for the availability check: no "$"
const SYNAPSE_AVAILABLE = /^\/_matrix\/client\/(?:r0|v3|unstable)\/register\/available/

const BANNED = {
  register: {
    policy: {
      allowed: true,
      username: { banned: { literals: ['admin', 'kevin'], prefixes: ['spam'], suffixes: ['bot'], substrings: ['viagra'], regexes: ['^[0-9]+$'] } }
    }
  }
}
const ALLOWED = {
  register: { policy: { allowed: true, username: { allowed: { prefixes: ['staff-'] }, banned: { literals: ['staff-root'] } } } }
}

const registerArrivals = (hs: Homeserver): string[] => hs.received.filter((r) => SYNAPSE_REGISTER.test(r.url.split('?')[0] ?? '')).map((r) => r.body.toString('latin1'))
const availableArrivals = (hs: Homeserver): string[] => hs.received.filter((r) => SYNAPSE_AVAILABLE.test(r.url.split('?')[0] ?? '')).map((r) => r.url)

function errcode (body: string): string | undefined {
  try { return (JSON.parse(body) as { errcode?: string }).errcode } catch { return undefined }
}

t.test('POST /register: banned names refused before the homeserver, in any spelling', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, BANNED)
  const refused: Array<[string, string]> = [
    ['a literal', '{"username":"admin","password":"pw"}'],
    ['upper case (Synapse lower-cases it)', '{"username":"ADMIN","password":"pw"}'],
    ['KELVIN SIGN, which lower-cases to k', '{"username":"\\u212aevin","password":"pw"}'],
    ['a JSON escape', '{"username":"\\u0061dmin","password":"pw"}'],
    ['a prefix', '{"username":"spammer1","password":"pw"}'],
    ['a suffix', '{"username":"chatbot","password":"pw"}'],
    ['a substring', '{"username":"buyviagranow","password":"pw"}'],
    ['a regex', '{"username":"12345","password":"pw"}'],
    ['duplicate keys: Synapse keeps the last', '{"username":"alice","username":"admin","password":"pw"}'],
    ['a later UIA request in the session', '{"username":"admin","auth":{"type":"m.login.dummy","session":"s1"}}'],
    ['the first request, without auth', '{"username":"admin","password":"pw","initial_device_display_name":"x"}'],
    ['on r0', '{"username":"admin"}'],
    ['with kind=user in the query', '{"username":"admin"}']
  ]
  for (const [what, body] of refused) {
    const target = what === 'on r0' ? '/_matrix/client/r0/register' : what.startsWith('with kind') ? `${REGISTER}?kind=user` : REGISTER
    const res = await rawPost(rg.port, target, body, { 'Content-Type': 'application/json' })
    t.equal(res.status, 400, what)
    t.equal(errcode(res.body), 'M_INVALID_USERNAME', what)
  }
  t.same(registerArrivals(hs), [], 'none reached the homeserver')
  const log = rg.logs.find((l) => l.msg === 'username refused')
  t.equal(log?.rule, 'username.banned')
  t.equal(log?.detail, 'literal "admin"')
})

t.test('POST /register: names the rules allow, and what they cannot judge, arrive byte for byte', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, BANNED)
  const forwarded = [
    '{"username":"alice","password":"pw"}',
    '{"username":"administrator","password":"pw"}',
    '{"username":"botany","auth":{"type":"m.login.dummy","session":"s1"}}',
    // no username: a generated numeric localpart, which no banned entry was written for
    '{"password":"pw"}',
    // Synapse refuses a non-string username ("Invalid username"): nothing to judge
    '{"username":["admin"],"password":"pw"}',
    // application services register their own namespaces (with the AS token)
    '{"type":"m.login.application_service","username":"admin_bridge_bot"}',
    'not json at all'
  ]
  for (const body of forwarded) {
    const res = await rawPost(rg.port, REGISTER, body, { 'Content-Type': 'application/json' })
    t.equal(res.status, 200, body)
  }
  t.same(registerArrivals(hs), forwarded, 'each arrived with exactly the bytes sent')
})

t.test('allowed list: a name must match; a request that would get a generated name is refused', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, ALLOWED)
  const cases: Array<[string, string, number, string | undefined]> = [
    [REGISTER, '{"username":"staff-bob","password":"pw"}', 200, undefined],
    [REGISTER, '{"username":"Staff-Bob","password":"pw"}', 200, undefined],
    [REGISTER, '{"username":"mallory","password":"pw"}', 400, 'M_INVALID_USERNAME'],
    [REGISTER, '{"username":"staff-root","password":"pw"}', 400, 'M_INVALID_USERNAME'],
    // parameters without a username replace the session's: Synapse would generate a number
    [REGISTER, '{"password":"pw"}', 400, 'M_MISSING_PARAM'],
    // a new session stores its (empty) parameters: a later bare request would use them
    [REGISTER, '{}', 400, 'M_MISSING_PARAM'],
    [REGISTER, '{"auth":{"type":"m.login.dummy"}}', 400, 'M_MISSING_PARAM'],
    [REGISTER, '{"auth":{"type":"m.login.dummy","session":""}}', 400, 'M_MISSING_PARAM'],
    [REGISTER, '{"auth":{"type":"m.login.dummy","session":{}}}', 400, 'M_MISSING_PARAM'],
    [REGISTER, '{"password":"pw","initial_device_display_name":"phone","auth":{"type":"m.login.dummy","session":"s1"}}', 400, 'M_MISSING_PARAM'],
    [REGISTER, '{"inhibit_login":true,"auth":{"type":"m.login.dummy","session":"s1"}}', 400, 'M_MISSING_PARAM'],
    [`${REGISTER}?kind=user&kind=guest`, '{"password":"pw"}', 400, 'M_MISSING_PARAM'],
    // nothing but auth (and the password Synapse removes first): the session's stored
    // parameters are used, judged when they arrived
    [REGISTER, '{"auth":{"type":"m.login.dummy","session":"s1"}}', 200, undefined],
    [REGISTER, '{"password":"pw","auth":{"type":"m.login.dummy","session":"s1"}}', 200, undefined],
    [REGISTER, '{"initial_device_display_name":"phone","auth":{"type":"m.login.dummy","session":"s1"}}', 200, undefined],
    // guest registration ignores username (kind read as Synapse does: first value, decoded)
    [`${REGISTER}?kind=guest`, '{"initial_device_display_name":"x"}', 200, undefined],
    [`${REGISTER}?kind=gues%74`, '{"initial_device_display_name":"x"}', 200, undefined]
  ]
  const expectedArrivals: string[] = []
  for (const [target, body, status, code] of cases) {
    const res = await rawPost(rg.port, target, body, { 'Content-Type': 'application/json' })
    t.equal(res.status, status, `${target} ${body}`)
    if (code !== undefined) t.equal(errcode(res.body), code, body)
    else expectedArrivals.push(body)
  }
  // a form body replaces the query's arguments (Twisted): kind=guest from the body counts
  const formBody = '{"x":"&kind=guest&","initial_device_display_name":"x"}'
  const form = await rawPost(rg.port, `${REGISTER}?kind=user`, formBody, { 'Content-Type': 'application/x-www-form-urlencoded' })
  t.equal(form.status, 200, 'a guest by its form body')
  expectedArrivals.push(formBody)
  t.same(registerArrivals(hs), expectedArrivals, 'only the allowed ones arrived, byte for byte')
})

function get (port: number, target: string, method = 'GET'): ReturnType<typeof rawRequest> {
  return rawRequest(port, `${method} ${target} HTTP/1.1\r\nHost: matrix.example.org\r\nConnection: close\r\n\r\n`)
}

t.test('GET /register/available: a refused name is answered without asking the homeserver', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, BANNED)
  const refused = [
    '/_matrix/client/v3/register/available?username=admin',
    '/_matrix/client/r0/register/available?username=spamking',
    '/_matrix/client/unstable/register/available?username=chatbot',
    '/_matrix/client/v3/register/available?username=Admin',
    '/_matrix/client/v3/register/available?username=%61dmin',
    '/_matrix/client/v3/register/available?x=1;username=admin',
    '/_matrix/client/v3/register/available?username=admin&username=alice',
    '/_matrix/client/v3/register/available/?username=admin',
    '/_matrix/client/v3/register/availableXYZ?username=admin'
  ]
  for (const target of refused) {
    const res = await get(rg.port, target)
    t.equal(res.status, 400, target)
    t.equal(errcode(res.body), 'M_INVALID_USERNAME', target)
  }
  const head = await get(rg.port, '/_matrix/client/v3/register/available?username=admin', 'HEAD')
  t.equal(head.status, 400, 'HEAD is GET to Synapse')
  t.same(availableArrivals(hs), [], 'none reached the homeserver')

  const allowed = [
    '/_matrix/client/v3/register/available?username=alice',
    '/_matrix/client/v3/register/available?username=alice&username=admin',
    '/_matrix/client/v3/register/available',
    '/_matrix/client/v3/register/availabl?username=admin'
  ]
  for (const target of allowed) {
    const res = await get(rg.port, target)
    t.equal(res.status, 200, target)
  }
  t.same(hs.received.map((r) => r.url), allowed, 'forwarded with the exact target')
  const a = hs.received[0]
  t.equal(a?.method, 'GET')
  t.equal(a?.headers.host, 'matrix.example.org')
})

t.test('allowed list at /register/available: a name outside it is refused there too', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, ALLOWED)
  t.equal((await get(rg.port, '/_matrix/client/v3/register/available?username=mallory')).status, 400)
  t.equal((await get(rg.port, '/_matrix/client/v3/register/available?username=staff-amy')).status, 200)
  t.same(hs.received.map((r) => r.url), ['/_matrix/client/v3/register/available?username=staff-amy'])
})

t.test('no username rules: /register/available and /register are forwarded untouched', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { register: { policy: { allowed: true } } })
  t.equal((await get(rg.port, '/_matrix/client/v3/register/available?username=admin')).status, 200)
  t.equal((await rawPost(rg.port, REGISTER, '{"password":"pw"}', { 'Content-Type': 'application/json' })).status, 200)
  t.equal(hs.received.length, 2)
})
