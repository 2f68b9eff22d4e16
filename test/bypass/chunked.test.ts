import { connect } from 'node:net'
import t from 'tap'
import { parseRawResponse } from '../helpers/raw-http.js'
import { assertNoDeniedArrived, bodyFor, chunkedBody, errcode, MEDIA, post, setup, sleep, tokenPath } from './helpers.js'

// Chunked request bodies: however the body is cut (one byte a chunk, the address split across
// chunks, chunk extensions, trailers, pauses between chunks), a denied one is never forwarded and
// an allowed one arrives with the same body bytes.

const CUTS: Array<[string, number, string, string[]]> = [
  ['one chunk', 100_000, '', []],
  ['one byte a chunk', 1, '', []],
  ['seven bytes a chunk', 7, '', []],
  ['chunk extensions', 5, ';ext="a;b"', []],
  ['a trailer', 13, '', ['X-Trailer: 1']]
]

function withTrailers (chunked: Buffer, trailers: string[]): Buffer {
  if (trailers.length === 0) return chunked
  return Buffer.concat([chunked.subarray(0, chunked.length - 2), Buffer.from(trailers.join('\r\n') + '\r\n\r\n')])
}

for (const medium of MEDIA) {
  for (const endpoint of ['register', 'account/3pid']) {
    const path = tokenPath('v3', endpoint, medium)
    t.test(`${path}: chunked bodies`, async (t) => {
      const { hs, rg } = await setup(t)
      for (const [name, size, ext, trailers] of CUTS) {
        hs.received.length = 0
        const head = [`POST ${path} HTTP/1.1`, 'Host: h', 'Connection: close', 'Content-Type: application/json', 'Transfer-Encoding: chunked', ...(trailers.length > 0 ? ['Trailer: X-Trailer'] : [])]
        const no = await post(rg.port, head, withTrailers(chunkedBody(bodyFor(medium, true), size, ext), trailers))
        t.equal(no.status, 403, `${name}: denied`)
        t.equal(errcode(no), 'M_THREEPID_DENIED', name)
        t.equal(hs.received.length, 0, `${name}: never forwarded`)

        const body = bodyFor(medium, false)
        const yes = await post(rg.port, head, withTrailers(chunkedBody(body, size, ext), trailers))
        t.equal(yes.status, 200, `${name}: allowed`)
        t.equal(hs.received.length, 1, name)
        t.equal(hs.received[0]?.body.toString(), body, `${name}: identical body bytes`)
        t.equal(hs.received[0]?.url, path, name)
      }
      assertNoDeniedArrived(t, hs)
    })
  }
}

t.test('chunks sent with pauses, the address cut in the middle', async (t) => {
  const { hs, rg } = await setup(t)
  const body = bodyFor('email', true)
  const cut = body.indexOf('evil') + 2
  const socket = connect(rg.port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  socket.write(`POST ${tokenPath('v3', 'register', 'email')} HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n`)
  for (const piece of [body.slice(0, cut), body.slice(cut)]) {
    await sleep(100)
    socket.write(`${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`)
  }
  await sleep(100)
  socket.end('0\r\n\r\n')
  await closed
  const res = parseRawResponse(Buffer.concat(chunks).toString('latin1'))
  t.equal(res.status, 403)
  t.equal(hs.received.length, 0)
  assertNoDeniedArrived(t, hs)
})

t.test('a chunked body cut off before its last chunk is never forwarded', async (t) => {
  const { hs, rg } = await setup(t)
  for (const denied of [true, false]) {
    const whole = chunkedBody(bodyFor('email', denied), 9)
    const res = await post(rg.port, [`POST ${tokenPath('v3', 'register', 'email')} HTTP/1.1`, 'Host: h', 'Transfer-Encoding: chunked'], whole.subarray(0, whole.length - 5), 1000)
    t.equal(res.status, 0, 'no answer: the request never ended')
  }
  t.equal(hs.received.length, 0, 'an unfinished body is not forwarded, allowed or not')
})
