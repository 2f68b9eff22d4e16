import t from 'tap'
import { unforwardableTarget } from '../../src/gate/target-guard.js'
import { nginxSkipReason, policedPathChecks, POLICED_PATH_VARIANTS, startNginxStack, synapseWouldPolice } from '../helpers/nginx.js'
import { rawPost, rawRequest } from '../helpers/raw-http.js'

// deploy/nginx/regguard-full.conf, run by a real nginx: everything under /_matrix and
// /_synapse/client goes through regguard, which polices what Synapse would route to a policed
// endpoint and forwards the rest unchanged.

const skip = nginxSkipReason()
const denied = JSON.stringify({ client_secret: 'abc', email: 'eve@evil.example.org', send_attempt: 1 })

t.test('full nginx config in front of regguard and the homeserver', { skip }, async (t) => {
  const s = await startNginxStack(t, 'full')
  const { hs, ng } = s

  policedPathChecks(t, s, denied)

  t.test('other paths pass, through regguard', async (t) => {
    s.reset()
    const res = await rawRequest(ng.port, 'GET /_matrix/client/versions?a=b HTTP/1.1\r\nHost: Matrix.Example.org:8443\r\nConnection: close\r\n\r\n')
    t.equal(res.status, 200)
    t.equal(JSON.parse(res.body).path, '/_matrix/client/versions?a=b')
    t.equal(hs.received.length, 1)
    const got = hs.received[0]!
    t.equal(got.url, '/_matrix/client/versions?a=b')
    t.equal(got.headers.host, 'Matrix.Example.org:8443', 'Host exactly as the client sent it')
    t.ok(s.viaRegguard(got), 'through regguard')
    t.equal(got.headers['x-forwarded-proto'], 'http')

    for (const target of ['/_synapse/client/oidc/callback?code=1', '/_matrix/federation/v1/version', '/_matrix/client/v3/login']) {
      s.reset()
      const r = await rawRequest(ng.port, `GET ${target} HTTP/1.0\r\n\r\n`)
      t.equal(r.status, 200, target)
      t.equal(hs.received[0]?.url, target, `${target}: target unchanged`)
      t.ok(hs.received[0] !== undefined && s.viaRegguard(hs.received[0]), `${target}: through regguard`)
      t.equal(hs.received[0]?.headers.host, 'matrix.example.org', `${target}: HTTP/1.0 without Host: the server name stands in`)
    }
  })

  t.test('an upload streams through regguard to the homeserver intact', async (t) => {
    s.reset()
    const body = Buffer.alloc(5 * 1024 * 1024, 'abcdefgh')
    const res = await rawPost(ng.port, '/_matrix/media/v3/upload?filename=a.bin', body, { 'Content-Type': 'application/octet-stream' })
    t.equal(res.status, 200)
    t.equal(hs.received.length, 1)
    t.equal(hs.received[0]!.bodyLength, body.length)
    t.ok(hs.received[0]!.body.equals(body))
    t.ok(s.viaRegguard(hs.received[0]!))
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
