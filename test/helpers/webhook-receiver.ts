import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

// A webhook receiver on loopback: keeps every POST with whether its X-Regguard-Signature is the
// HMAC-SHA256 of the body under `secret`, checked independently of regguard's own code. It
// can be told to fail the next requests (to exercise retries).

export interface Received {
  body: Buffer
  json: Record<string, unknown>
  headers: IncomingHttpHeaders
  signatureValid: boolean
}

export interface WebhookReceiver {
  url: string
  received: Received[]
  /** Answer the next `n` requests with `status` */
  failNext: (n: number, status?: number) => void
  waitFor: (count?: number, timeoutMs?: number) => Promise<Received>
  close: () => Promise<void>
}

export async function startWebhookReceiver (secret: string, t?: { teardown: (fn: () => unknown) => void }): Promise<WebhookReceiver> {
  const received: Received[] = []
  const waiters: Array<{ count: number, resolve: (r: Received) => void }> = []
  let failing = 0
  let failStatus = 500
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (failing > 0) { failing--; res.writeHead(failStatus).end(); return }
      const body = Buffer.concat(chunks)
      const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(body).digest('hex'))
      const given = Buffer.from(String(req.headers['x-regguard-signature'] ?? ''))
      const signatureValid = given.length === expected.length && timingSafeEqual(given, expected)
      const r: Received = { body, json: JSON.parse(body.toString('utf8')) as Record<string, unknown>, headers: req.headers, signatureValid }
      received.push(r)
      res.writeHead(204).end()
      for (const w of [...waiters]) {
        if (received.length >= w.count) { waiters.splice(waiters.indexOf(w), 1); w.resolve(received[w.count - 1] as Received) }
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    failNext: (n, status = 500) => { failing = n; failStatus = status },
    waitFor: async (count = received.length + 1, timeoutMs = 10_000) => {
      if (received.length >= count) return received[count - 1] as Received
      return await new Promise<Received>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`no webhook number ${count} within ${timeoutMs} ms`)) }, timeoutMs)
        waiters.push({ count, resolve: (r) => { clearTimeout(timer); resolve(r) } })
      })
    },
    close: async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
  t?.teardown(() => receiver.close())
  return receiver
}
