import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { freePort } from '../helpers/net.js'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost, rawRequest, type RawResponse } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// When the homeserver is down or slow, clients get a Matrix JSON error (502 / 504) instead of a
// hung or dropped connection, and regguard keeps serving once the homeserver is back.

const policy = { register: { policy: { allowed: true, threepid: { email: { domain: { blacklist: ['evil.example.org'] } } } } } }
const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const allowedBody = JSON.stringify({ client_secret: 'abc', email: 'alice@example.org', send_attempt: 1 })
const deniedBody = JSON.stringify({ client_secret: 'abc', email: 'eve@evil.example.org', send_attempt: 1 })

type Asserts = Pick<typeof t, 'equal' | 'match' | 'strictSame'>

function assertMatrixError (t: Asserts, res: RawResponse, status: number, error: string): void {
  t.equal(res.status, status)
  t.match(res.headers['content-type'], /^application\/json/)
  t.strictSame(JSON.parse(res.body), { errcode: 'M_UNKNOWN', error })
}

const get = (port: number, path = '/_matrix/client/versions'): Promise<RawResponse> =>
  rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`, 10_000)


t.test('homeserver down: 502 M_UNKNOWN as JSON; back up: served again', async (t) => {
  const port = await freePort()
  const rg = await startRegguard(t, `http://127.0.0.1:${port}`, policy)
  assertMatrixError(t, await get(rg.port), 502, 'The homeserver could not be reached')
  assertMatrixError(t, await rawPost(rg.port, TOKEN, allowedBody), 502, 'The homeserver could not be reached')
  const put = await rawRequest(rg.port, `PUT /_matrix/media/v3/upload HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello`)
  assertMatrixError(t, put, 502, 'The homeserver could not be reached')
  // policy still applies without a homeserver
  const denied = await rawPost(rg.port, TOKEN, deniedBody)
  t.equal(denied.status, 403)

  // the homeserver comes back on the same port
  const back = createServer((_req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"back":true}') })
  await new Promise<void>((resolve, reject) => { back.once('error', reject); back.listen(port, '127.0.0.1', resolve) })
  t.teardown(() => new Promise<void>((resolve) => { back.closeAllConnections(); back.close(() => resolve()) }))
  const ok = await get(rg.port)
  t.equal(ok.status, 200)
  t.equal(ok.body, '{"back":true}')
})

t.test('homeserver too slow: 504 M_UNKNOWN as JSON, and the next request is served', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond((r) => r.url.includes('slow') || r.url.includes('requestToken')
    ? { status: 200, body: '{"late":true}', delayMs: 2000 }
    : { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"fast":true}' })
  const rg = await startRegguard(t, hs.url, { ...policy, homeserver: { timeout_ms: 300 } })
  const started = Date.now()
  assertMatrixError(t, await get(rg.port, '/_matrix/client/v3/slow'), 504, 'The homeserver did not answer in time')
  t.ok(Date.now() - started < 1900, 'answered before the homeserver did')
  assertMatrixError(t, await rawPost(rg.port, TOKEN, allowedBody), 504, 'The homeserver did not answer in time')
  const next = await get(rg.port, '/_matrix/client/v3/fast')
  t.equal(next.status, 200)
  t.equal(next.body, '{"fast":true}')
  t.equal(hs.receivedMatching('/slow').length, 1, 'the slow request was sent once, not retried')
})

t.test('homeserver stalls in the middle of a body: the client connection is cut, regguard stays up', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond((r, _req, res) => {
    if (!r.url.includes('stall')) return { status: 200, body: 'fine' }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': '1000' })
    res.write(Buffer.alloc(100, 0x61))
    return undefined // never finishes
  })
  const rg = await startRegguard(t, hs.url, { homeserver: { timeout_ms: 300 } })
  const res = await request(`${rg.url}/_matrix/media/v3/download/x/stall`)
  t.equal(res.statusCode, 200, 'headers had already been sent')
  await t.rejects(res.body.arrayBuffer(), 'the truncated body is not passed off as whole')
  const next = await get(rg.port, '/_matrix/client/v3/ok')
  t.equal(next.status, 200)
  t.equal(next.body, 'fine')
})

t.test('homeserver drops the connection without answering: 502', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond((r, req) => {
    if (r.url.includes('drop')) { req.socket.destroy(); return undefined }
    return { status: 200, body: 'fine' }
  })
  const rg = await startRegguard(t, hs.url)
  assertMatrixError(t, await get(rg.port, '/_matrix/client/v3/drop'), 502, 'The homeserver could not be reached')
  const next = await get(rg.port, '/_matrix/client/v3/ok')
  t.equal(next.status, 200)
})

t.test('homeserver answers garbage: 502', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond((r, req) => {
    if (r.url.includes('garbage')) { req.socket.end('NOT HTTP AT ALL\r\n\r\n'); return undefined }
    return { status: 200, body: 'fine' }
  })
  const rg = await startRegguard(t, hs.url)
  assertMatrixError(t, await get(rg.port, '/_matrix/client/v3/garbage'), 502, 'The homeserver could not be reached')
  t.equal((await get(rg.port, '/_matrix/client/v3/ok')).status, 200)
})
