import { connect, type Socket } from 'node:net'
import t from 'tap'
import { startHomeserver, type Homeserver } from '../helpers/homeserver.js'
import { rawRequest } from '../helpers/raw-http.js'
import { startRegguard, type Started } from '../helpers/regguard.js'

// Hostile or broken clients: garbage, ambiguous framing (request smuggling), clients that vanish
// mid-request. regguard runs in this process, so a crash fails the file; after each attack a
// normal request must still be served, and a denied requestToken must never reach the homeserver
// by any framing trick.

const policy = { register: { policy: { allowed: true, threepid: { email: { domain: { blacklist: ['evil.example.org'] } } } } } }
const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const DENIED = JSON.stringify({ client_secret: 'abc', email: 'eve@evil.example.org', send_attempt: 1 })

/** A complete denied requestToken request, as bytes a smuggler would hide. */
const deniedRequest = `POST ${TOKEN} HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: ${DENIED.length}\r\n\r\n${DENIED}`

type Asserts = Pick<typeof t, 'equal' | 'ok' | 'fail'>

function assertNoDeniedAtHomeserver (t: Asserts, hs: Homeserver): void {
  const leaked = hs.received.filter((r) => r.url.includes('requestToken') && r.body.includes('evil.example.org'))
  t.equal(leaked.length, 0, 'no denied requestToken reached the homeserver')
}

async function assertStillServing (t: Asserts, rg: Started): Promise<void> {
  const res = await rawRequest(rg.port, 'GET /_matrix/client/versions HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n', 5000)
  t.equal(res.status, 200, 'a normal request is still served')
  const internal = rg.logs.filter((l) => typeof l.level === 'number' && l.level >= 50)
  t.equal(internal.length, 0, 'no internal error was logged')
}

async function setup (t: { teardown: (fn: () => unknown) => void }): Promise<{ hs: Homeserver, rg: Started }> {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, policy)
  return { hs, rg }
}

const GARBAGE: Array<[string, string | Buffer]> = [
  ['random bytes', Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 131 + 7) % 256))],
  ['a bare newline flood', '\r\n'.repeat(5000)],
  ['no HTTP version', `POST ${TOKEN}\r\n\r\n${DENIED}`],
  ['unknown HTTP version', `POST ${TOKEN} HTTP/9.9\r\nHost: h\r\n\r\n`],
  ['invalid method token', `P(ST ${TOKEN} HTTP/1.1\r\nHost: h\r\n\r\n`],
  ['header line without a colon', `POST ${TOKEN} HTTP/1.1\r\nHost h\r\n\r\n`],
  ['NUL in a header value', `GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u0000b\r\n\r\n`],
  ['space before the header colon', `POST ${TOKEN} HTTP/1.1\r\nHost: h\r\nContent-Length : ${DENIED.length}\r\n\r\n${DENIED}`],
  ['headers over 64 KiB', `GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`],
  ['a negative Content-Length', `POST ${TOKEN} HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n${DENIED}`],
  ['a non-numeric Content-Length', `POST ${TOKEN} HTTP/1.1\r\nHost: h\r\nContent-Length: 1e3\r\n\r\n${DENIED}`],
  ['a bad chunk size', `POST ${TOKEN} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${DENIED}\r\n0\r\n\r\n`],
  ['only half a request line', 'GET /_matrix/cli']
]

t.test('garbage on the socket', async (t) => {
  const { hs, rg } = await setup(t)
  for (const [name, bytes] of GARBAGE) {
    const res = await rawRequest(rg.port, bytes, 1500)
    t.ok(res.status === 0 || (res.status >= 400 && res.status < 500), `${name}: refused (${res.status})`)
  }
  t.equal(hs.received.length, 0, 'nothing reached the homeserver')
  await assertStillServing(t, rg)
})

const SMUGGLING: Array<[string, string]> = [
  ['Content-Length and Transfer-Encoding (CL.TE)',
    `POST /_matrix/client/v3/pass HTTP/1.1\r\nHost: h\r\nContent-Length: ${5 + deniedRequest.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${deniedRequest}`],
  ['Transfer-Encoding and Content-Length (TE.CL)',
    `POST /_matrix/client/v3/pass HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${(deniedRequest.length).toString(16)}\r\n${deniedRequest}\r\n0\r\n\r\n`],
  ['Content-Length and Transfer-Encoding on a policed path',
    `POST ${TOKEN} HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n${DENIED.length.toString(16)}\r\n${DENIED}\r\n0\r\n\r\n`],
  ['two different Content-Length headers',
    `POST /_matrix/client/v3/pass HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: ${deniedRequest.length}\r\n\r\n${deniedRequest}`],
  ['one Content-Length header with two values',
    `POST /_matrix/client/v3/pass HTTP/1.1\r\nHost: h\r\nContent-Length: 0, ${deniedRequest.length}\r\n\r\n${deniedRequest}`],
  ['an obfuscated Transfer-Encoding',
    `POST /_matrix/client/v3/pass HTTP/1.1\r\nHost: h\r\nContent-Length: ${deniedRequest.length}\r\nTransfer-Encoding: xchunked\r\n\r\n${deniedRequest}`],
  ['Transfer-Encoding not ending in chunked',
    `POST /_matrix/client/v3/pass HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n${deniedRequest}`],
  ['a folded Transfer-Encoding header',
    `POST /_matrix/client/v3/pass HTTP/1.1\r\nHost: h\r\nContent-Length: ${deniedRequest.length}\r\nTransfer-Encoding:\r\n chunked\r\n\r\n${deniedRequest}`],
  ['a bare LF line ending',
    `POST /_matrix/client/v3/pass HTTP/1.1\nHost: h\nContent-Length: 0\n\n${deniedRequest}`]
]

t.test('request smuggling: ambiguous framing never carries a denied request to the homeserver', async (t) => {
  const { hs, rg } = await setup(t)
  for (const [name, bytes] of SMUGGLING) {
    const before = hs.received.length
    const res = await rawRequest(rg.port, bytes, 1500)
    t.ok(res.status === 0 || res.status === 400 || res.status === 200, `${name}: answered ${res.status}`)
    // whatever was forwarded was one request, framed as regguard parsed it
    for (const r of hs.received.slice(before)) t.equal(r.url, '/_matrix/client/v3/pass', `${name}: only the outer request was forwarded`)
    assertNoDeniedAtHomeserver(t, hs)
  }
  await assertStillServing(t, rg)
})

/** Everything the server sends back on one connection, until it closes it. */
function exchange (port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => socket.destroy(), 5000)
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('latin1')) })
    socket.write(bytes)
  })
}

t.test('pipelined requests on one connection are each policed', async (t) => {
  const { hs, rg } = await setup(t)
  const allowed = JSON.stringify({ client_secret: 'abc', email: 'alice@example.org', send_attempt: 1 })
  const first = `POST ${TOKEN} HTTP/1.1\r\nHost: h\r\nContent-Length: ${allowed.length}\r\n\r\n${allowed}`
  const pass = 'GET /_matrix/client/v3/pass HTTP/1.1\r\nHost: h\r\n\r\n'
  const last = `POST ${TOKEN} HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: ${DENIED.length}\r\n\r\n${DENIED}`
  const text = await exchange(rg.port, first + pass + deniedRequest + last)
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
  t.same(statuses, [200, 200, 403, 403], 'four answers, in order')
  t.equal(hs.received.length, 2, 'the allowed token request and the pass-through only')
  assertNoDeniedAtHomeserver(t, hs)
  await assertStillServing(t, rg)
})

t.test('Expect: 100-continue on a denied request', async (t) => {
  const { hs, rg } = await setup(t)
  const res = await rawRequest(rg.port, `POST ${TOKEN} HTTP/1.1\r\nHost: h\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: ${DENIED.length}\r\n\r\n${DENIED}`)
  t.match(res.head + res.body, /HTTP\/1\.1 403/)
  assertNoDeniedAtHomeserver(t, hs)
  t.equal(hs.received.length, 0)
  await assertStillServing(t, rg)
})

/** Opens a connection, writes `bytes`, waits `ms`, then resets it. */
async function sendThenVanish (port: number, bytes: string | Buffer, ms: number): Promise<void> {
  const socket: Socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  socket.write(bytes)
  await new Promise((resolve) => setTimeout(resolve, ms))
  socket.resetAndDestroy()
}

t.test('a client that disconnects mid-upload', async (t) => {
  const { hs, rg } = await setup(t)
  let upstreamAborted = 0
  hs.server.on('request', (req) => { req.on('aborted', () => { upstreamAborted++ }); req.on('error', () => {}) })

  // pass-through: 10 MB announced, 1 MB sent
  await sendThenVanish(rg.port, Buffer.concat([
    Buffer.from(`PUT /_matrix/media/v3/upload HTTP/1.1\r\nHost: h\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`),
    Buffer.alloc(1024 * 1024, 0x62)
  ]), 200)
  // pass-through, chunked, never finished
  await sendThenVanish(rg.port, `POST /_matrix/media/v3/upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4000\r\n${'c'.repeat(0x4000)}\r\n`, 200)
  // policed: half of a denied body, then gone; and the same for an allowed body
  await sendThenVanish(rg.port, `POST ${TOKEN} HTTP/1.1\r\nHost: h\r\nContent-Length: ${DENIED.length}\r\n\r\n${DENIED.slice(0, 20)}`, 200)
  const allowed = JSON.stringify({ client_secret: 'abc', email: 'alice@example.org', send_attempt: 1 })
  await sendThenVanish(rg.port, `POST ${TOKEN} HTTP/1.1\r\nHost: h\r\nContent-Length: ${allowed.length}\r\n\r\n${allowed.slice(0, 20)}`, 200)

  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(hs.received.length, 0, 'no incomplete request was completed at the homeserver')
  t.equal(hs.receivedMatching('requestToken').length, 0, 'a half-sent token request is not forwarded')
  t.ok(upstreamAborted >= 1, `the homeserver saw the forwarded uploads aborted (${upstreamAborted})`)
  assertNoDeniedAtHomeserver(t, hs)
  await assertStillServing(t, rg)
})

t.test('a client that disconnects while the homeserver is answering', async (t) => {
  const { hs, rg } = await setup(t)
  let closedEarly = 0
  hs.respond((r, _req, res) => {
    if (r.url.includes('slow')) return { status: 200, body: 'late', delayMs: 500 }
    if (!r.url.includes('big')) return { status: 200, body: 'fine' }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' })
    res.on('close', () => { if (!res.writableFinished) closedEarly++ })
    // far more than the socket buffers between here and the client can hold
    const chunk = Buffer.alloc(64 * 1024, 0x64)
    let sent = 0
    const pump = (): void => {
      while (sent < 2000) {
        sent++
        if (!res.write(chunk)) { res.once('drain', pump); return }
      }
      res.end()
    }
    pump()
    return undefined
  })
  await sendThenVanish(rg.port, 'GET /_matrix/client/v3/slow HTTP/1.1\r\nHost: h\r\n\r\n', 100)
  await sendThenVanish(rg.port, 'GET /_matrix/media/v3/download/x/big HTTP/1.1\r\nHost: h\r\n\r\n', 100)
  await new Promise((resolve) => setTimeout(resolve, 800))
  t.equal(closedEarly, 1, 'the download from the homeserver was abandoned, not read to the end')
  await assertStillServing(t, rg)
})
