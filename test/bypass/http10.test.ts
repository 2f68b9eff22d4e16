import t from 'tap'
import { assertNoDeniedArrived, chunkedBody, emailBody, errcode, policedArrivals, post, rawHttp, setup, TOKEN, ALLOWED_EMAIL, DENIED_EMAIL } from './helpers.js'
import { rawRequest } from '../helpers/raw-http.js'

// HTTP/1.0 clients: with Content-Length the body is policed like any other; without it there is
// no body (RFC 9112 6.3: a request is never delimited by the connection closing), which is what
// Synapse sees too, so nothing that follows can be forwarded as a policed request.

const denied = emailBody(DENIED_EMAIL)
const allowed = emailBody(ALLOWED_EMAIL)

t.test('HTTP/1.0 with Content-Length', async (t) => {
  const { hs, rg } = await setup(t)
  for (const host of [['Host: matrix.example.org'], []]) {
    hs.received.length = 0
    const no = await post(rg.port, [`POST ${TOKEN} HTTP/1.0`, ...host, 'Content-Type: application/json', `Content-Length: ${denied.length}`], denied)
    t.equal(no.status, 403, `denied (${host.length === 0 ? 'no Host' : 'Host'})`)
    t.equal(errcode(no), 'M_THREEPID_DENIED')
    t.equal(hs.received.length, 0, 'never forwarded')

    const yes = await post(rg.port, [`POST ${TOKEN} HTTP/1.0`, ...host, 'Content-Type: application/json', `Content-Length: ${allowed.length}`], allowed)
    t.equal(yes.status, 200, 'allowed')
    t.equal(hs.received.length, 1)
    t.equal(hs.received[0]?.url, TOKEN)
    t.equal(hs.received[0]?.body.toString(), allowed, 'body byte for byte')
  }
})

t.test('HTTP/1.0 without Content-Length: the bytes after the head are no body', async (t) => {
  const { hs, rg } = await setup(t)
  const empty = await post(rg.port, [`POST ${TOKEN} HTTP/1.0`, 'Host: h', 'Content-Type: application/json'], '', 1500)
  t.equal(empty.status, 400, 'an empty body is not JSON, as for Synapse')
  t.equal(errcode(empty), 'M_NOT_JSON')
  for (const body of [denied, allowed]) {
    // the JSON is read as a next request, which is malformed HTTP; either answer is a refusal
    const res = await post(rg.port, [`POST ${TOKEN} HTTP/1.0`, 'Host: h', 'Content-Type: application/json'], body, 1500)
    t.equal(res.status, 400)
    t.ok(['M_NOT_JSON', 'M_UNRECOGNIZED'].includes(errcode(res) as string), `refused (${String(errcode(res))})`)
  }
  t.same(policedArrivals(hs).map((r) => r.url), [], 'no requestToken forwarded')
  assertNoDeniedArrived(t, hs)
})

t.test('HTTP/1.0 keep-alive: a denied request after an allowed one is policed too', async (t) => {
  const { hs, rg } = await setup(t)
  // with a length the answer needs no close to end it, so the connection can carry the next request
  hs.respond(() => ({ status: 200, headers: { 'Content-Type': 'application/json', 'Content-Length': '12' }, body: '{"sid":"S1"}' }))
  const bytes = Buffer.concat([
    rawHttp([`POST ${TOKEN} HTTP/1.0`, 'Host: h', 'Connection: keep-alive', `Content-Length: ${allowed.length}`], allowed),
    rawHttp([`POST ${TOKEN} HTTP/1.0`, 'Host: h', `Content-Length: ${denied.length}`], denied)
  ])
  const res = await rawRequest(rg.port, bytes, 3000)
  t.equal(res.status, 200, 'first answer')
  t.match(res.body, /M_THREEPID_DENIED/, 'second answer is the denial')
  t.equal(hs.received.length, 1)
  t.equal(hs.received[0]?.body.toString(), allowed)
  assertNoDeniedArrived(t, hs)
})

t.test('HTTP/1.0 with Transfer-Encoding: chunked never leaks a denied body', async (t) => {
  const { hs, rg } = await setup(t)
  const res = await post(rg.port, [`POST ${TOKEN} HTTP/1.0`, 'Host: h', 'Transfer-Encoding: chunked'], chunkedBody(denied, 7), 1500)
  t.ok(res.status === 0 || (res.status >= 400 && res.status < 500), `refused (${res.status})`)
  assertNoDeniedArrived(t, hs)
})
