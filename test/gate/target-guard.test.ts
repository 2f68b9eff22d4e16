import fc from 'fast-check'
import t from 'tap'
import { unforwardableTarget } from '../../src/gate/target-guard.js'
import { classify } from '../../src/gate/routes.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawRequest } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// Pass-through runs through @fastify/http-proxy and @fastify/reply-from, which rebuild the URL.
// Property, over generated targets sent through a raw socket (fastify's inject normalises, so it
// cannot show this): the homeserver receives exactly the target the client sent, or the client
// gets 400 M_UNRECOGNIZED and the homeserver nothing. Never a third outcome, and never another
// path than the one the route table judged.

// the pieces path and query are made of: dot segments and their escapes, slashes and
// backslashes, broken escapes, characters WHATWG URL percent-encodes, and Matrix's sigils
const BENIGN = [
  'a', 'B', 'register', 'email', 'requestToken', '...', '%2F', '%2f', '%40', '%e2%82%ac', '~', '!', '$', '&', "'", '(',
  ')', '*', '+', ',', ';', '=', ':', '@', '!room%3Aexample.org', '@alice:example.org'
]
const HOSTILE = [
  '.', '..', '%2e', '%2E', '%2e%2E', '%5C', '%5c', '%', '%z', '%zz', '%C0', '%00', '\\', '{', '}', '<', '>', '`', '^', '|',
  '[', ']', '"', '#'
]
const PIECES = [...BENIGN, ...HOSTILE]
const piece = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...BENIGN) }, { weight: 1, arbitrary: fc.constantFrom(...HOSTILE) })
const segment = fc.array(piece, { minLength: 0, maxLength: 4 }).map((p) => p.join(''))
const path = fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => '/' + s.join('/'))
const prefixed = fc.oneof(path, path.map((p) => '/_matrix/client/v3' + p), path.map((p) => '/' + p))
const query = fc.option(fc.array(fc.constantFrom(...PIECES, '?', '/', '=', '&'), { maxLength: 6 }).map((p) => '?' + p.join('')), { nil: '' })
const target = fc.tuple(prefixed, query).map(([p, q]) => p + q)

t.test('through a raw socket: the homeserver receives exactly the target, or the client gets 400 and the homeserver nothing', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { register: { policy: { allowed: true } } })
  let forwarded = 0
  let refused = 0
  await fc.assert(fc.asyncProperty(target, fc.constantFrom('GET', 'POST'), async (target, method) => {
    // policed routes go the exact forwarder's way (their own suites): this property is pass-through's
    fc.pre(classify(method, target).kind === 'forward')
    const before = hs.received.length
    const body = method === 'POST' ? '{}' : ''
    const head = `${method} ${target} HTTP/1.1\r\nHost: matrix.example.org\r\nConnection: close\r\n` + (body === '' ? '' : `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`) + '\r\n'
    const res = await rawRequest(rg.port, Buffer.from(head + body, 'latin1'))
    const got = hs.received.slice(before)
    if (res.status === 400) {
      refused++
      if (got.length !== 0) throw new Error(`${target}: refused, yet the homeserver received ${JSON.stringify(got.map((g) => g.url))}`)
      if (JSON.parse(res.body).errcode !== 'M_UNRECOGNIZED') throw new Error(`${target}: 400 without M_UNRECOGNIZED: ${res.body}`)
      return
    }
    forwarded++
    if (res.status !== 200) throw new Error(`${target}: neither forwarded nor refused: ${res.status} ${res.body}`)
    if (got.length !== 1 || got[0]?.url !== target) throw new Error(`${target}: the homeserver received ${JSON.stringify(got.map((g) => g.url))}`)
    // what the guard lets through is exactly what arrives unchanged
    if (unforwardableTarget(target) !== null) throw new Error(`${target}: forwarded although the guard refuses it`)
  }), { numRuns: 400, seed: 21 })
  t.ok(forwarded > 50, `targets forwarded byte for byte (${forwarded})`)
  t.ok(refused > 50, `targets refused (${refused})`)
})

t.test('the guard: what the pass-through stack would change is refused, the rest kept', async (t) => {
  const refused = [
    '/_matrix/client/v3/register/./email/requestToken',
    '/_matrix/client/v3/register/%2e/email/requestToken',
    '/_matrix/client/v3/register/%2E/email/requestToken',
    '/_matrix/client/v3/x/../register/email/requestToken',
    '/_matrix/client/v3/x/%2e%2E/register',
    '/_matrix/client/v3\\register/email/requestToken',
    '/_matrix/client/v3/x%5C..%5Cy',
    '//evil.example/_matrix/client/v3/sync',
    '/_matrix/client/v3/a%zz',
    '/_matrix/client/v3/a b',
    '/_matrix/client/v3/a#b',
    '/_matrix/client/v3/<x>',
    // a path parameter that is exactly "." or "..": the one effect on real clients, which
    // percent-encode everything else
    '/_matrix/client/v3/rooms/!r:x/state/m.room.member/.',
    '/_matrix/client/v3/rooms/!r:x/state/m.room.member/..',
    'http://matrix.example.org/_matrix/client/v3/sync',
    '*'
  ]
  for (const target of refused) t.not(unforwardableTarget(target), null, target)
  const kept = [
    '/',
    '/?',
    '/_matrix/client/v3/sync?since=s1&filter={"a":1}&x=..%2F#y',
    '/_matrix/client/v3/rooms/!room%3Aexample.org/send/m.room.message/txn1',
    '/_matrix/client/v3/profile/%40alice%3aexample.org/displayname',
    '/_matrix/client/v3//login//',
    '/_matrix/client/v3/register%2Femail/requestToken',
    '/_matrix/media/v3/download/example.org/abc...def',
    "/_matrix/client/v3/a!$&'()*+,;=:@~"
  ]
  for (const target of kept) t.equal(unforwardableTarget(target), null, target)
})
