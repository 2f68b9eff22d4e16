import { createServer, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import t from 'tap'
import { readBody, type BodyResult } from '../../src/gate/body.js'

// readBody reads the same bytes whether the body is still arriving (listeners) or has arrived
// whole and waits in the request's buffer (taken at once), and keeps its limit either way.

async function served (t: { teardown: (fn: () => unknown) => void }, raw: string, when: 'at-once' | 'after-arrival', limit?: number): Promise<{ result: BodyResult, ended: boolean }> {
  return await new Promise((resolve, reject) => {
    const server = createServer((req: IncomingMessage, res) => {
      const read = (): void => {
        void readBody(req, limit).then((result) => {
          // Node still ends the request once the buffer is empty, so a body taken at once
          // leaves the connection usable
          setImmediate(() => { resolve({ result, ended: req.readableEnded }); res.end() })
        }, reject)
      }
      if (when === 'at-once') read()
      else setImmediate(read)
    })
    t.teardown(() => { server.close() })
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') { reject(new Error('no port')); return }
      const socket = connect(address.port, '127.0.0.1', () => { socket.write(raw) })
      socket.on('error', () => {})
      t.teardown(() => { socket.destroy() })
    })
  })
}

const body = '{"client_secret":"s","email":"a@example.org","send_attempt":1}'
const chunked = (parts: string[]): string => parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('') + '0\r\n\r\n'

for (const when of ['at-once', 'after-arrival'] as const) {
  t.test(`${when}: a body with Content-Length, a chunked one and an empty one read exactly`, async (t) => {
    const a = await served(t, `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n${body}`, when)
    t.same(a.result.ok && a.result.bytes.toString(), body)
    t.ok(a.ended, 'the request ended')
    const b = await served(t, `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${chunked([body.slice(0, 10), body.slice(10, 30), body.slice(30)])}`, when)
    t.same(b.result.ok && b.result.bytes.toString(), body)
    const c = await served(t, 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', when)
    t.same(c.result.ok && c.result.bytes.length, 0)
  })

  t.test(`${when}: a chunked body over the limit is too large, with what was read`, async (t) => {
    const big = 'x'.repeat(300)
    const r = await served(t, `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${chunked([big, big])}`, when, 512)
    t.equal(r.result.ok, false)
    t.equal(!r.result.ok && r.result.reason, 'too-large')
    t.ok(!r.result.ok && r.result.reason === 'too-large' && r.result.prefix.length > 512, 'the prefix holds more than the limit')
  })
}

t.test('a declared Content-Length over the limit is refused before anything is read', async (t) => {
  const r = await served(t, 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n', 'at-once', 1000)
  t.same(r.result, { ok: false, reason: 'too-large', prefix: Buffer.alloc(0) })
})
