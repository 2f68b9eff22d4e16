import t, { type Test } from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawRequest, type RawResponse } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// Issue 8, section 7: well-formed HTTP that undici will not send as received (two Host headers:
// Node's parser lets them through, undici refuses them) is the client's fault, so it gets 400
// JSON as nginx answers ("client sent duplicate host header"), not 502, and a log line. Nothing
// reaches the homeserver.

const TOKEN_BODY = JSON.stringify({ client_secret: 'twohosts', email: 'alice@example.org', send_attempt: 1 })

function twoHosts (method: string, target: string, body = ''): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: matrix.example.org', 'Host: other.example.org', 'Connection: close']
  if (body !== '') lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`)
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body)
}

function assertRefused (t: Test, res: RawResponse, label: string): void {
  t.equal(res.status, 400, `${label}: 400`)
  t.equal(res.headers['content-type'], 'application/json', label)
  t.same(JSON.parse(res.body), { errcode: 'M_UNRECOGNIZED', error: 'The request cannot be forwarded' }, label)
}

t.test('two Host headers: 400 JSON on every route, nothing forwarded, logged', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { register: { policy: { allowed: true } } })
  assertRefused(t, await rawRequest(rg.port, twoHosts('GET', '/_matrix/client/versions')), 'pass-through GET')
  assertRefused(t, await rawRequest(rg.port, twoHosts('PUT', '/_matrix/client/v3/rooms/!r:x/send/m.room.message/1', '{"body":"hi"}')), 'pass-through PUT with a body')
  assertRefused(t, await rawRequest(rg.port, twoHosts('POST', '/_matrix/client/v3/register/email/requestToken', TOKEN_BODY)), 'allowed requestToken')
  assertRefused(t, await rawRequest(rg.port, twoHosts('POST', '/_matrix/client/v3/register', '{}')), '/register')
  assertRefused(t, await rawRequest(rg.port, twoHosts('POST', '/_matrix/client/v3/createRoom', '{}')), 'createRoom')
  t.equal(hs.received.length, 0, 'nothing reached the homeserver')
  const logged = rg.logs.filter((l) => l.msg === 'request refused: it cannot be forwarded as received')
  t.equal(logged.length, 5, 'each logged')
  t.equal(logged[0]?.reason, 'duplicate host header')
  t.equal(logged[0]?.client_ip, '127.0.0.1')
  const metrics = await (await fetch(`${rg.adminUrl}/metrics`)).text()
  t.notMatch(metrics, /regguard_upstream_errors_total\{kind="refused"\}/, 'not counted as a homeserver failure')
})

t.test('with require_3pid, /register\'s buffered exchanges answer 400 too', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { register: { policy: { allowed: true, require_3pid: true } } })
  assertRefused(t, await rawRequest(rg.port, twoHosts('POST', '/_matrix/client/v3/register', '{"username":"u"}')), 'no auth yet')
  assertRefused(t, await rawRequest(rg.port, twoHosts('POST', '/_matrix/client/v3/register', '{"auth":{"type":"m.login.dummy","session":"s"}}')), 'a stage regguard asks the homeserver about')
  t.equal(hs.received.length, 0, 'nothing reached the homeserver')
  const logged = rg.logs.filter((l) => l.msg === 'request refused: it cannot be forwarded as received')
  t.equal(logged.length, 2, 'each logged')
  t.equal(logged[0]?.reason, 'duplicate host header', 'with undici\'s reason where it is known')
})
