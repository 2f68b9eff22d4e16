import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost, rawRequest } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// Regression: a proxy built on @fastify/http-proxy (WHATWG URL) normalises the request target
// before forwarding ("/a/./b" -> "/a/b", "%2e%2E" -> "..", "//" kept or not, ...). Then the path
// regguard classified is not the path Synapse routes, and a request regguard let through as
// "not a requestToken" could become one on the way. The homeserver must receive the target byte
// for byte, and regguard must police exactly the targets Synapse would route: raw path,
// case-sensitive, anchored, query string ignored.
//
// Pass-through now goes through @fastify/http-proxy, whose URL building would rewrite some
// targets (dot segments, "%2e", backslashes, characters WHATWG URL percent-encodes). Those are
// refused with 400 M_UNRECOGNIZED and never forwarded (issue 21: src/gate/target-guard.ts); every
// other target still arrives byte for byte.

const policy = {
  register: { policy: { allowed: true, threepid: { email: { domain: { blacklist: ['evil.example.org'] } } } } }
}
const DENIED_BODY = JSON.stringify({ client_secret: 'abc', email: 'eve@evil.example.org', send_attempt: 1 })

const V3 = '/_matrix/client/v3'

// Targets Synapse does not route to a requestToken servlet: forwarded untouched (the homeserver
// answers them, with a 404 or 405 of its own), even with a denied address in the body.
const NOT_ROUTED = [
  `${V3}/register/email/requestToken/`,
  `${V3}/register%2Femail/requestToken`,
  `${V3}/register/email%2frequestToken`,
  `${V3}/register/%65mail/requestToken`,
  `${V3}/register/email/request%54oken`,
  `${V3}/%72egister/email/requestToken`,
  `${V3}//register/email/requestToken`,
  `${V3}/register//email/requestToken`,
  `/_matrix//client/v3/register/email/requestToken`,
  `/_matrix/client/V3/register/email/requestToken`,
  `/_matrix/client/v3/Register/email/requestToken`,
  `/_matrix/client/v3/register/EMAIL/requestToken`,
  `/_matrix/client/v3/register/email/requesttoken`,
  `/_matrix/client/v3/register/email/REQUESTTOKEN`,
  `/_MATRIX/client/v3/register/email/requestToken`,
  `/_matrix/client/v3/account/3PID/email/requestToken`,
  `/_matrix/client/v3/register/email/requestToken%3Ffoo=bar`,
  `/_matrix/client/v3/register/email/requestToken;x=1`,
  `/_matrix/client/v3/register/email/requestToken%20`,
  `/_matrix/client/v4/register/email/requestToken`,
  `/_matrix/client/r0/register/msisdn/requestToken/`,
  `/prefix/_matrix/client/v3/register/email/requestToken`
]

// Targets the proxy stack would rewrite on the way (WHATWG URL: dot segments, "%2e", backslash to
// "/", "//" read as a host): refused here, never forwarded, whatever the route table thought.
const REWRITTEN = [
  `${V3}/register/./email/requestToken`,
  `${V3}/register/email/./requestToken`,
  `${V3}/register/x/../email/requestToken`,
  `${V3}/register/email/requestToken/..`,
  `${V3}/account/3pid/foo/../email/requestToken`,
  `${V3}/register/%2e/email/requestToken`,
  `${V3}/x/%2e%2E/register/email/requestToken`,
  `${V3}/x/%2E%2e/register/email/requestToken`,
  `//_matrix/client/v3/register/email/requestToken`,
  `${V3}/register\\email/requestToken`,
  `${V3}\\register/email/requestToken`,
  `${V3}/register/email\\requestToken`,
  '/_matrix/media/v3/download/example.org/abc/../def',
  '/_matrix/client/v3/./login',
  '/_synapse/client/%2e%2e/%2E%2E/admin',
  '/a/b/../../../../etc/passwd',
  '/_matrix/client/v3/a|b/c^d/e`f/<g>/[h]/\'i\'',
  '/_matrix/client/v3/x\\y',
  '/_matrix/client/v3/x%zz/y',
  // reply-from decodes the path and refuses a ".." it finds there
  '/_matrix/client/v3/%7Ba%7D/b%2Fc/%2e%2e%2fd',
  '/_matrix/client/v3/a/..b'
]

// Targets Synapse routes: policed (denied here) whatever their query string holds.
const ROUTED = [
  `${V3}/register/email/requestToken?foo=bar`,
  `${V3}/register/email/requestToken?`,
  `${V3}/register/email/requestToken??`,
  `${V3}/register/email/requestToken?/../../x`,
  `${V3}/register/email/requestToken?access_token=abc&access_token=def`,
  `/_matrix/client/unstable/account/3pid/email/requestToken?x=%2F..%2F`
]

t.test('targets Synapse does not route reach the homeserver byte for byte and are not policed', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, policy)
  for (const target of NOT_ROUTED) {
    const before = hs.received.length
    const res = await rawPost(rg.port, target, DENIED_BODY, { 'Content-Type': 'application/json' })
    t.equal(res.status, 200, `${target}: the homeserver answered`)
    t.equal(hs.received.length, before + 1, `${target}: forwarded once`)
    const got = hs.received[before]
    t.equal(got?.url, target, `${target}: same bytes at the homeserver`)
    t.equal(got?.body.toString(), DENIED_BODY, `${target}: same body`)
  }
})

t.test('targets the proxy stack would rewrite are refused, never forwarded', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, policy)
  for (const target of REWRITTEN) {
    for (const method of ['GET', 'POST']) {
      const body = method === 'POST' ? DENIED_BODY : ''
      const head = `${method} ${target} HTTP/1.1\r\nHost: matrix.example.org\r\nConnection: close\r\n` + (body === '' ? '' : `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`) + '\r\n'
      const res = await rawRequest(rg.port, head + body)
      t.equal(res.status, 400, `${method} ${target}: refused`)
      t.equal(res.headers['content-type'], 'application/json')
      t.equal(JSON.parse(res.body).errcode, 'M_UNRECOGNIZED', `${method} ${target}: M_UNRECOGNIZED`)
    }
  }
  t.equal(hs.received.length, 0, 'none reached the homeserver')
})

t.test('targets Synapse routes are policed whatever the query string', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, policy)
  for (const target of ROUTED) {
    const res = await rawPost(rg.port, target, DENIED_BODY, { 'Content-Type': 'application/json' })
    t.equal(res.status, 403, `${target}: denied`)
    t.equal(JSON.parse(res.body).errcode, 'M_THREEPID_DENIED')
  }
  t.equal(hs.received.length, 0, 'none reached the homeserver')
  // the allowed twin of a routed target keeps its query string at the homeserver
  const target = `${V3}/register/email/requestToken?foo=bar&x=%2F..%2F&y=/./`
  const ok = await rawPost(rg.port, target, JSON.stringify({ client_secret: 'abc', email: 'alice@example.org', send_attempt: 1 }))
  t.equal(ok.status, 200)
  t.equal(hs.received[0]?.url, target)
})

t.test('pass-through targets of every kind keep their bytes, query strings included', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, policy)
  const targets = [
    '/_matrix/client/v3/rooms/!room%3Aexample.org/send/m.room.message/txn1?ts=1&ts=2',
    '/_matrix/client/v3/rooms/!room:example.org/state/m.room.member/@alice%3Aexample.org',
    '/_matrix/client/v3/profile/%40alice%3aexample.org/displayname',
    '/_matrix/client/v3/sync?filter=%7B%22room%22%3A%7B%7D%7D&since=s1_2_3&timeout=0',
    '/_matrix/client/v3//login//',
    // characters a WHATWG URL would percent-encode in a query: the query is forwarded raw
    '/_matrix/client/v3/sync?filter={"room":{"timeline":{"limit":1}}}',
    '/_matrix/client/v3/sync?a=<b>&c=`d`&e=\'f\'&g=%zz&h=..%2F/./x#frag',
    '/_matrix/client/v3/%7Ba%7D/b%2Fc/x...y/z..',
    '/?',
    '/'
  ]
  for (const target of targets) {
    const before = hs.received.length
    const res = await rawRequest(rg.port, `GET ${target} HTTP/1.1\r\nHost: matrix.example.org\r\nConnection: close\r\n\r\n`)
    t.equal(res.status, 200, `${target}: answered`)
    t.equal(hs.received[before]?.url, target, `${target}: same bytes`)
    t.equal(JSON.parse(res.body).path, target, `${target}: the homeserver's answer came back`)
  }
})

t.test('a policed path with another method is forwarded for the homeserver to refuse (Synapse: 405)', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond(() => ({ status: 405, headers: { 'Content-Type': 'application/json' }, body: '{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}' }))
  const rg = await startRegguard(t, hs.url, policy)
  const target = `${V3}/register/email/requestToken`
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const before = hs.received.length
    const body = method === 'GET' || method === 'DELETE' || method === 'OPTIONS' ? '' : DENIED_BODY
    const head = `${method} ${target} HTTP/1.1\r\nHost: matrix.example.org\r\nConnection: close\r\n` + (body === '' ? '' : `Content-Length: ${body.length}\r\n`) + '\r\n'
    const res = await rawRequest(rg.port, head + body)
    t.equal(res.status, 405, `${method}: the homeserver's answer`)
    t.equal(hs.received[before]?.method, method)
    t.equal(hs.received[before]?.url, target)
    t.equal(hs.received[before]?.body.toString(), body)
  }
})

t.test('non-origin-form targets are answered by regguard and never reach the homeserver', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, policy)
  const targets = [
    // absolute-form: Synapse routes on the raw path, which here does not start with /_matrix
    ['POST', `http://matrix.example.org${V3}/register/email/requestToken`],
    ['POST', `http://127.0.0.1:${hs.port}${V3}/register/email/requestToken`],
    ['GET', `http://matrix.example.org${V3}/sync`],
    // asterisk-form
    ['OPTIONS', '*']
  ] as const
  for (const [method, target] of targets) {
    const head = `${method} ${target} HTTP/1.1\r\nHost: matrix.example.org\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${DENIED_BODY.length}\r\n\r\n`
    const res = await rawRequest(rg.port, head + DENIED_BODY)
    t.equal(res.status, 400, `${method} ${target}: refused`)
    t.match(res.headers['content-type'], /^application\/json/)
    t.equal(JSON.parse(res.body).errcode, 'M_UNRECOGNIZED')
  }
  t.equal(hs.received.length, 0, 'the homeserver saw none of them')
  const after = await rawRequest(rg.port, `GET ${V3}/versions HTTP/1.1\r\nHost: matrix.example.org\r\nConnection: close\r\n\r\n`)
  t.equal(after.status, 200, 'regguard still serves')
})
