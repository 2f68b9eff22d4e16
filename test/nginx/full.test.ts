import t from 'tap'
import { defaultReply } from '../helpers/homeserver.js'
import { nginxSkipReason, POLICED_PATH_VARIANTS, startNginxStack, synapseWouldPolice } from '../helpers/nginx.js'
import { rawPost, rawRequest } from '../helpers/raw-http.js'

// deploy/nginx/regguard-full.conf, run by a real nginx: everything under /_matrix and
// /_synapse/client goes through regguard, which polices what Synapse would route to a policed
// endpoint and forwards the rest unchanged.

const skip = nginxSkipReason()
const denied = JSON.stringify({ client_secret: 'abc', email: 'eve@evil.example.org', send_attempt: 1 })

t.test('full nginx config in front of regguard and the homeserver', { skip }, async (t) => {
  const s = await startNginxStack(t, 'full')
  const { hs, rg, ng } = s

  for (const prefix of ['r0', 'v3', 'unstable']) {
    for (const endpoint of ['register', 'account/3pid']) {
      const path = `/_matrix/client/${prefix}/${endpoint}/email/requestToken`

      t.test(`${prefix} ${endpoint}: a denied requestToken never reaches the homeserver`, async (t) => {
        s.reset()
        const res = await rawPost(ng.port, path, denied, { 'Content-Type': 'application/json' })
        t.equal(res.status, 403)
        t.match(res.headers['content-type'], /^application\/json/)
        t.equal(JSON.parse(res.body).errcode, 'M_THREEPID_DENIED')
        t.same(hs.received, [], 'homeserver saw nothing')
        const decisions = rg.logs.filter((l) => l.msg === 'policy decision')
        t.equal(decisions.length, 1, 'regguard decided once')
        t.match(decisions[0], { decision: 'deny', client_ip: '127.0.0.1' })
      })

      t.test(`${prefix} ${endpoint}: an allowed requestToken reaches the homeserver byte for byte`, async (t) => {
        s.reset()
        hs.respond(() => ({ status: 200, headers: { 'Content-Type': 'application/json', 'X-From': 'hs' }, body: '{"sid":"S1"}' }))
        t.teardown(() => hs.respond(defaultReply))
        const target = `${path}?x=1&y=%2F`
        const body = '{ "email" : "Alice@Sub.Example.org",  "client_secret":"abc", "send_attempt": 1 , "next_link":"https://x/é"}'
        const res = await rawPost(ng.port, target, body, { 'Content-Type': 'application/json', Authorization: 'Bearer tok', 'X-Client': 'one', 'X-Forwarded-For': '6.6.6.6' })
        t.equal(res.status, 200)
        t.equal(res.body, '{"sid":"S1"}')
        t.equal(res.headers['x-from'], 'hs')
        t.equal(hs.received.length, 1)
        const got = hs.received[0]!
        t.equal(got.method, 'POST')
        t.equal(got.url, target, 'request target exactly as sent')
        t.equal(got.body.toString(), body, 'body bytes unchanged')
        t.equal(got.headers.host, 'matrix.example.org')
        t.equal(got.headers.authorization, 'Bearer tok')
        t.equal(got.headers['x-client'], 'one')
        t.equal(got.headers['content-type'], 'application/json')
        t.ok(s.viaRegguard(got), 'came through regguard')
        t.notMatch(String(got.headers['x-forwarded-for']), /6\.6\.6\.6/, 'a client-supplied X-Forwarded-For is not believed')
      })
    }
  }

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
      } else {
        t.equal(hs.received.length, 1, `${target}: forwarded for the homeserver to answer`)
        t.equal(hs.received[0]?.url, originForm, `${target}: forwarded as sent`)
      }
    }
  })
})
