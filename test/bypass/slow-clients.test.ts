import type { IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import t from 'tap'
import { defaultReply, startHomeserver, type Homeserver } from '../helpers/homeserver.js'
import { parseRawResponse, rawPost, rawRequest, type RawResponse } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { trickle, until, type SlowClient } from '../helpers/slow-client.js'

// Issue 8, section 5: slow clients and floods cannot take the gate down. Clients get their own
// addresses through X-Forwarded-For from loopback (trusted by default).

t.setTimeout(120_000)

const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const TOKEN_BODY = JSON.stringify({ client_secret: 'slowclients', email: 'alice@example.org', send_attempt: 1 })
const UPLOAD = '/_matrix/media/v3/upload?filename=slow.bin'
const allowAll = { register: { policy: { allowed: true } } }

function errorOf (res: RawResponse): { errcode?: unknown, error?: unknown, retry_after_ms?: unknown } {
  try { return JSON.parse(res.body) as Record<string, unknown> } catch { return {} }
}

/** Requests whose head reached the homeserver, and which of them closed before their end. */
function watchArrivals (hs: Homeserver, pathPart: string): { open: () => number, started: () => number, aborted: () => number } {
  let open = 0
  let started = 0
  let aborted = 0
  hs.server.on('request', (req: IncomingMessage) => {
    if (!(req.url ?? '').includes(pathPart)) return
    open++
    started++
    req.once('close', () => { open--; if (!req.complete) aborted++ })
  })
  return { open: () => open, started: () => started, aborted: () => aborted }
}

function uploadHead (ip: string, length: number): string[] {
  return [`PUT ${UPLOAD} HTTP/1.1`, 'Host: matrix.example.org', 'Content-Type: application/octet-stream', `Content-Length: ${length}`, `X-Forwarded-For: ${ip}`, 'Connection: close']
}

function get (port: number, path: string, ip: string, timeoutMs = 5000): Promise<RawResponse> {
  return rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: matrix.example.org\r\nX-Forwarded-For: ${ip}\r\nConnection: close\r\n\r\n`, timeoutMs)
}

t.test('16 tricklers holding all 8 pass-through connections do not delay registration', async (t) => {
  const hs = await startHomeserver(t)
  const uploads = watchArrivals(hs, '/_matrix/media/')
  const rg = await startRegguard(t, hs.url, { ...allowAll, homeserver: { connections: 8 } })

  // one byte every half second: never idle, never done within the test
  const tricklers: SlowClient[] = []
  for (let i = 0; i < 16; i++) tricklers.push(trickle(rg.port, { head: uploadHead(`198.51.100.${i + 1}`, 200), body: Buffer.alloc(200, 0x61), intervalMs: 500 }))
  t.teardown(() => { for (const c of tricklers) c.destroy() })
  await until(() => uploads.open() === 8, 'the tricklers to hold 8 connections')
  // a pass-through request of another client waits for a connection: the pool really is full
  let syncAnswered = false
  const sync = get(rg.port, '/_matrix/client/v3/sync', '203.0.113.99', 60_000).then((r) => { syncAnswered = true; return r })
  await new Promise((resolve) => setTimeout(resolve, 300))

  const started = performance.now()
  const token = await rawPost(rg.port, TOKEN, TOKEN_BODY, { 'Content-Type': 'application/json', 'X-Forwarded-For': '203.0.113.50' })
  const tokenMs = performance.now() - started
  t.equal(token.status, 200, 'the allowed requestToken was answered by the homeserver')
  t.ok(tokenMs < 1000, `within a second (took ${tokenMs.toFixed(0)} ms)`)
  const arrived = hs.receivedMatching('/requestToken')
  t.equal(arrived.length, 1)
  t.equal(arrived[0]?.body.toString(), TOKEN_BODY, 'byte for byte')

  // the other policed routes have the same reserve
  const t2 = performance.now()
  const register = await rawPost(rg.port, '/_matrix/client/v3/register', '{}', { 'Content-Type': 'application/json', 'X-Forwarded-For': '203.0.113.51' })
  const createRoom = await rawPost(rg.port, '/_matrix/client/v3/createRoom', '{}', { 'Content-Type': 'application/json', 'X-Forwarded-For': '203.0.113.52' })
  const otherMs = performance.now() - t2
  t.equal(register.status, 200, '/register was answered')
  t.equal(createRoom.status, 200, 'createRoom was answered')
  t.ok(otherMs < 2000, `both within two seconds (took ${otherMs.toFixed(0)} ms)`)

  t.equal(uploads.open(), 8, 'meanwhile the tricklers still held every pass-through connection')
  t.notOk(syncAnswered, 'and pass-through traffic still waited for one')
  t.equal(hs.receivedMatching('/sync').length, 0)

  for (const c of tricklers) c.destroy()
  const s = await sync
  t.equal(s.status, 200, 'once the tricklers left, the waiting request went through')
})

t.test('createRoom bodies trickled by many clients hold none of the registration connections', async (t) => {
  const hs = await startHomeserver(t)
  const rooms = watchArrivals(hs, '/createRoom')
  const rg = await startRegguard(t, hs.url, { ...allowAll, homeserver: { registration_connections: 4 } })
  // small enough to be learnable (read whole before forwarding), never finished within the test
  const body = Buffer.from(JSON.stringify({ invite_3pid: [{ medium: 'email', address: 'a@example.org', id_server: 'is' }], pad: 'x'.repeat(100) }))
  const tricklers: SlowClient[] = []
  for (let i = 0; i < 8; i++) {
    const head = ['POST /_matrix/client/v3/createRoom HTTP/1.1', 'Host: matrix.example.org', 'Content-Type: application/json', `Content-Length: ${body.length}`, `X-Forwarded-For: 198.51.100.${i + 101}`, 'Connection: close']
    tricklers.push(trickle(rg.port, { head, body, intervalMs: 500 }))
  }
  t.teardown(() => { for (const c of tricklers) c.destroy() })
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(rooms.started(), 0, 'no trickled createRoom reached the homeserver while its body was arriving')
  const started = performance.now()
  const token = await rawPost(rg.port, TOKEN, TOKEN_BODY, { 'Content-Type': 'application/json', 'X-Forwarded-For': '203.0.113.60' })
  const tokenMs = performance.now() - started
  t.equal(token.status, 200, 'the allowed requestToken was answered by the homeserver')
  t.ok(tokenMs < 1000, `within a second with 8 createRoom tricklers and 4 registration connections (took ${tokenMs.toFixed(0)} ms)`)
})

t.test('request headers that do not arrive in time: 408 JSON, connection closed', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { server: { headers_timeout_ms: 500 } })
  for (const partial of ['GET /_matrix/client/versions HTTP/1.1\r\nHost: matrix.example.org\r\n', 'PUT /_matrix/media/v3/upl']) {
    const socket = connect(rg.port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (c) => chunks.push(c))
    const started = performance.now()
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    socket.write(partial)
    const guard = setTimeout(() => socket.destroy(), 10_000)
    await closed
    clearTimeout(guard)
    const ms = performance.now() - started
    const res = parseRawResponse(Buffer.concat(chunks).toString('latin1'))
    t.equal(res.status, 408, `${JSON.stringify(partial.slice(0, 20))}: 408`)
    t.equal(res.headers['content-type'], 'application/json')
    t.same(errorOf(res), { errcode: 'M_UNKNOWN', error: 'The request was not received in time' })
    t.ok(ms >= 450 && ms < 5000, `after the timeout, not before (${ms.toFixed(0)} ms)`)
  }
  t.equal(hs.received.length, 0, 'nothing reached the homeserver')
})

t.test('a request body that goes idle: 408 JSON, and the homeserver\'s request is aborted', async (t) => {
  const hs = await startHomeserver(t)
  const uploads = watchArrivals(hs, '/_matrix/media/')
  const rg = await startRegguard(t, hs.url, { ...allowAll, server: { body_timeout_ms: 500 } })

  const started = performance.now()
  const stalled = trickle(rg.port, { head: uploadHead('198.51.100.20', 100), body: Buffer.alloc(100, 0x62), intervalMs: 20, bytesPerTick: 5, stopAfter: 10 })
  const res = await stalled.closed
  const ms = performance.now() - started
  t.equal(res.status, 408, 'pass-through upload: 408')
  t.same(errorOf(res), { errcode: 'M_UNKNOWN', error: 'The request was not received in time' })
  t.equal(res.headers.connection, 'close')
  t.ok(ms >= 450 && ms < 5000, `after the idle time (${ms.toFixed(0)} ms)`)
  await until(() => uploads.aborted() === 1, 'the homeserver to see its request aborted')
  t.equal(uploads.started(), 1, 'the upload had been forwarded as it came')
  t.equal(hs.received.length, 0, 'and never completed at the homeserver')

  const policed = trickle(rg.port, {
    head: [`POST ${TOKEN} HTTP/1.1`, 'Host: matrix.example.org', 'Content-Type: application/json', `Content-Length: ${TOKEN_BODY.length}`, 'Connection: close'],
    body: Buffer.from(TOKEN_BODY),
    intervalMs: 10,
    bytesPerTick: 5,
    stopAfter: 15
  })
  const p = await policed.closed
  t.equal(p.status, 408, 'policed requestToken whose body stalls: 408')
  t.equal(errorOf(p).errcode, 'M_UNKNOWN')
  t.equal(hs.receivedMatching('/requestToken').length, 0, 'not forwarded')
  t.ok(rg.logs.some((l) => l.msg === 'request body idle: cut' && l.client_ip === '198.51.100.20'), 'logged with the client address')
})

t.test('slow but moving bodies and slow homeserver answers are never cut', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond((r) => ({ ...defaultReply(r), delayMs: r.url.includes('slow') ? 1500 : 0 }))
  const rg = await startRegguard(t, hs.url, { ...allowAll, server: { body_timeout_ms: 500, headers_timeout_ms: 500 } })

  const body = Buffer.from('0123456789abcdef')
  const moving = trickle(rg.port, { head: uploadHead('198.51.100.30', body.length), body, intervalMs: 200 })
  const m = await moving.closed
  t.equal(m.status, 200, 'an upload at one byte per 200 ms (3 s in all) passes')
  t.equal(hs.receivedMatching('/media/')[0]?.body.toString(), body.toString(), 'byte for byte')

  const poll = await get(rg.port, '/_matrix/client/v3/sync?timeout=30000&slow=1', '198.51.100.31')
  t.equal(poll.status, 200, 'a long poll the homeserver answers after 1.5 s')
  const post = await rawPost(rg.port, '/_matrix/client/v3/rooms/!r:x/send/m.room.message/slow', '{"body":"hi"}')
  t.equal(post.status, 200, 'a request whose body is complete, answered after 1.5 s')
})

t.test('per-client concurrency: 429 beyond the cap, freed however a request ends', async (t) => {
  const hs = await startHomeserver(t)
  let release: () => void = () => {}
  let held = new Promise<void>((resolve) => { release = resolve })
  hs.respond(async (r, _req, res) => {
    if (r.url.includes('/boom')) { res.destroy(); return undefined }
    if (r.url.includes('/hold')) await held
    return defaultReply(r)
  })
  const rg = await startRegguard(t, hs.url, { ...allowAll, server: { per_client_concurrency: 2 } })
  const inFlight = rg.app.context.inFlight.passThrough
  const a = '198.51.100.40'

  const h1 = get(rg.port, '/_matrix/client/v3/hold/1', a, 30_000)
  const h2 = get(rg.port, '/_matrix/client/v3/hold/2', a, 30_000)
  await until(() => hs.receivedMatching('/hold/').length === 2, 'two held requests at the homeserver')
  const third = await get(rg.port, '/_matrix/client/v3/third', a)
  t.equal(third.status, 429, 'a third request of the same client: 429')
  t.same(errorOf(third), { errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests in progress from this client', retry_after_ms: 1000 })
  t.equal(third.headers['retry-after'], '1')
  const upload = await rawRequest(rg.port, uploadHead(a, 5).join('\r\n') + '\r\n\r\n')
  t.equal(upload.status, 429, 'an upload beyond the cap is refused before its body')
  t.equal(upload.headers.connection, 'close', 'and its connection closed rather than drained')
  t.equal(hs.receivedMatching('/third').length + hs.receivedMatching('/media/').length, 0, 'none of them reached the homeserver')
  const token = await rawPost(rg.port, TOKEN, TOKEN_BODY, { 'Content-Type': 'application/json', 'X-Forwarded-For': a })
  t.equal(token.status, 200, 'its registration traffic has a count of its own: a busy client can still register')
  t.equal((await get(rg.port, '/_matrix/client/v3/other', '198.51.100.41')).status, 200, 'another client is not limited')
  t.equal(inFlight.count(a), 2)

  release()
  t.equal((await h1).status, 200)
  t.equal((await h2).status, 200)
  await until(() => inFlight.count(a) === 0, 'the count to drop after the answers')
  t.equal((await get(rg.port, '/_matrix/client/v3/again', a)).status, 200, 'room again once they finished')

  // a client that goes away frees its place
  held = new Promise<void>((resolve) => { release = resolve })
  const leaver = trickle(rg.port, { head: [`GET /_matrix/client/v3/hold/3 HTTP/1.1`, 'Host: matrix.example.org', `X-Forwarded-For: ${a}`], body: Buffer.alloc(0), intervalMs: 1000 })
  const stays = get(rg.port, '/_matrix/client/v3/hold/4', a, 30_000)
  await until(() => inFlight.count(a) === 2, 'two requests counted')
  leaver.destroy()
  await until(() => inFlight.count(a) === 1, 'the abandoned request to be uncounted')
  t.equal((await get(rg.port, '/_matrix/client/v3/after-abort', a)).status, 200, 'room again after a client abort')

  // an upstream failure frees it too
  const boom = await get(rg.port, '/_matrix/client/v3/boom', a)
  t.equal(boom.status, 502, 'the homeserver dropped the connection: 502')
  t.equal(inFlight.count(a), 1, 'and the failed request is no longer counted')
  release()
  t.equal((await stays).status, 200)
  await until(() => inFlight.clients === 0, 'no entry left')
})

t.test('per-client concurrency groups IPv6 clients by prefix; 0 switches it off', async (t) => {
  const hs = await startHomeserver(t)
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  hs.respond(async (r) => { if (r.url.includes('/hold')) await held; return defaultReply(r) })
  const rg = await startRegguard(t, hs.url, { server: { per_client_concurrency: 1 } })
  const h = get(rg.port, '/_matrix/client/v3/hold/1', '2001:db8:5:6::1', 30_000)
  await until(() => hs.receivedMatching('/hold/').length === 1, 'the held request at the homeserver')
  t.equal((await get(rg.port, '/_matrix/client/v3/x', '2001:db8:5:6:ffff::2')).status, 429, 'another address of the same /64: 429')
  t.equal((await get(rg.port, '/_matrix/client/v3/x', '2001:db8:5:7::1')).status, 200, 'the next /64 is another client')
  release()
  t.equal((await h).status, 200)

  const hs2 = await startHomeserver(t)
  let release2: () => void = () => {}
  const held2 = new Promise<void>((resolve) => { release2 = resolve })
  hs2.respond(async (r) => { if (r.url.includes('/hold')) await held2; return defaultReply(r) })
  const off = await startRegguard(t, hs2.url, { server: { per_client_concurrency: 0 } })
  const holds = [1, 2, 3].map((i) => get(off.port, `/_matrix/client/v3/hold/${i}`, '198.51.100.60', 30_000))
  await until(() => hs2.receivedMatching('/hold/').length === 3, 'all three at the homeserver')
  t.equal(off.app.context.inFlight.passThrough.clients, 0, 'with 0 nothing is counted')
  release2()
  for (const r of await Promise.all(holds)) t.equal(r.status, 200)
})

t.test('per-client concurrency on the policed routes: counted apart from pass-through', async (t) => {
  const hs = await startHomeserver(t)
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  hs.respond(async (r) => { if (r.url.includes('hold')) await held; return defaultReply(r) })
  const rg = await startRegguard(t, hs.url, { ...allowAll, server: { per_client_concurrency: 2 } })
  const a = '198.51.100.70'
  const headers = { 'Content-Type': 'application/json', 'X-Forwarded-For': a }
  const holds = [1, 2].map((i) => rawPost(rg.port, `/_matrix/client/v3/register?hold=${i}`, '{}', headers))
  await until(() => hs.receivedMatching('/register?hold').length === 2, 'two held /register at the homeserver')
  const third = await rawPost(rg.port, TOKEN, TOKEN_BODY, headers)
  t.equal(third.status, 429, 'a third policed request of the same client: 429')
  t.equal(errorOf(third).errcode, 'M_LIMIT_EXCEEDED')
  t.equal(hs.receivedMatching('/requestToken').length, 0, 'not forwarded')
  t.equal((await get(rg.port, '/_matrix/client/v3/sync', a)).status, 200, 'its pass-through traffic is not held up by it')
  t.equal(rg.app.context.inFlight.policed.count(a), 2)
  release()
  for (const r of await Promise.all(holds)) t.equal(r.status, 200)
  await until(() => rg.app.context.inFlight.policed.clients === 0, 'no entry left')
  t.equal((await rawPost(rg.port, TOKEN, TOKEN_BODY, headers)).status, 200, 'room again')
})
