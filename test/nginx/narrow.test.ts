import t from 'tap'
import { unforwardableTarget } from '../../src/gate/target-guard.js'
import { nginxSkipReason, policedPathChecks, POLICED_PATH_VARIANTS, startNginxStack, synapseWouldPolice } from '../helpers/nginx.js'
import { rawPost, rawRequest } from '../helpers/raw-http.js'

// deploy/nginx/regguard-narrow.conf, run by a real nginx: the policed paths (and the paths later
// issues police) go through regguard, everything else straight to the homeserver, and no
// spelling of a policed path gets around regguard.

const skip = nginxSkipReason()
const denied = JSON.stringify({ client_secret: 'abc', email: 'eve@evil.example.org', send_attempt: 1 })

t.test('narrow nginx config in front of regguard and the homeserver', { skip }, async (t) => {
  const s = await startNginxStack(t, 'narrow')
  const { hs, ng } = s

  policedPathChecks(t, s, denied)

  t.test('other paths go straight to the homeserver', async (t) => {
    s.reset()
    const res = await rawRequest(ng.port, 'GET /_matrix/client/versions?a=b HTTP/1.1\r\nHost: Matrix.Example.org:8443\r\nConnection: close\r\n\r\n')
    t.equal(res.status, 200)
    t.equal(hs.received.length, 1)
    const got = hs.received[0]!
    t.equal(got.url, '/_matrix/client/versions?a=b')
    t.equal(got.headers.host, 'Matrix.Example.org:8443', 'Host exactly as the client sent it')
    t.equal(got.headers['x-forwarded-for'], '127.0.0.1', 'from nginx itself')
    t.equal(got.headers['x-forwarded-proto'], 'http')

    s.reset()
    const synapseClient = await rawRequest(ng.port, 'GET /_synapse/client/oidc/callback HTTP/1.0\r\n\r\n')
    t.equal(synapseClient.status, 200)
    t.equal(hs.received.length, 1)
    t.equal(hs.received[0]!.headers['x-forwarded-for'], '127.0.0.1')
    t.equal(hs.received[0]!.headers.host, 'matrix.example.org', 'HTTP/1.0 without Host: the server name stands in')
  })

  t.test('an upload to another path streams to the homeserver intact', async (t) => {
    s.reset()
    const body = Buffer.alloc(5 * 1024 * 1024, 'abcdefgh')
    const res = await rawPost(ng.port, '/_matrix/media/v3/upload?filename=a.bin', body, { 'Content-Type': 'application/octet-stream' })
    t.equal(res.status, 200)
    t.equal(hs.received.length, 1)
    t.equal(hs.received[0]!.bodyLength, body.length)
    t.ok(hs.received[0]!.body.equals(body))
    t.notOk(s.viaRegguard(hs.received[0]!))
  })

  t.test('the paths later issues police go through regguard', async (t) => {
    const paths = [
      '/_matrix/client/v3/register',
      '/_matrix/client/r0/register?kind=user',
      '/_matrix/client/v3/register/available?username=a',
      '/_matrix/client/v1/register/m.login.registration_token/validity?token=x',
      '/_matrix/client/v3/account/3pid',
      '/_matrix/client/api/v1/rooms/!room:example.org/invite',
      '/_matrix/client/v3/rooms/%21room%3Aexample.org/invite',
      // a room id with an escaped slash decodes into two segments in nginx's $uri
      '/_matrix/client/r0/rooms/%21a%2Fb%3Aexample.org/invite',
      '/_matrix/client/unstable/rooms//invite',
      '/_matrix/client/v3/createRoom',
      '/_matrix/client/api/v1/createRoom'
    ]
    for (const path of paths) {
      s.reset()
      const res = await rawPost(ng.port, path, '{}', { 'Content-Type': 'application/json' })
      t.equal(res.status, 200, path)
      t.equal(hs.received.length, 1, path)
      t.equal(hs.received[0]?.url, path, `${path}: target unchanged`)
      t.ok(hs.received[0] !== undefined && s.viaRegguard(hs.received[0]), `${path}: through regguard`)
    }
    // policed since issue 22: a body naming no validation session is refused by regguard itself
    s.reset()
    const add = await rawPost(ng.port, '/_matrix/client/v3/account/3pid/add', '{}', { 'Content-Type': 'application/json' })
    t.equal(add.status, 403, '/account/3pid/add without a session: refused')
    t.equal(JSON.parse(add.body).errcode, 'M_THREEPID_DENIED', 'by regguard (nginx sent it there)')
    t.equal(hs.received.length, 0, 'nothing forwarded')
  })

  t.test('no spelling of a policed path gets around regguard', async (t) => {
    for (const target of POLICED_PATH_VARIANTS) {
      s.reset()
      const res = await rawPost(ng.port, target, denied, { 'Content-Type': 'application/json' })
      const policedArrivals = hs.received.filter((r) => synapseWouldPolice(r.url))
      t.same(policedArrivals.map((r) => r.url), [], `${target}: the homeserver got no policed path`)
      for (const r of hs.received) t.ok(s.viaRegguard(r), `${target}: reached the homeserver only through regguard (as ${r.url})`)
      // nginx passes an absolute-form target on in origin form
      const originForm = target.startsWith('http://') ? target.slice(target.indexOf('/', 'http://'.length)) : target
      if (synapseWouldPolice(originForm)) {
        t.equal(res.status, 403, `${target}: denied`)
        t.equal(hs.received.length, 0, `${target}: never forwarded`)
      } else if (hs.received.length === 0 && unforwardableTarget(originForm) !== null) {
        // a target the pass-through stack would rewrite (dot segments, escapes of them): refused
        // by regguard's target guard, never forwarded (docs/gate.md)
        t.equal(res.status, 400, `${target}: refused by the target guard`)
      } else {
        t.equal(hs.received.length, 1, `${target}: forwarded for the homeserver to answer`)
        t.equal(hs.received[0]?.url, originForm, `${target}: forwarded as sent`)
      }
    }
  })
})
