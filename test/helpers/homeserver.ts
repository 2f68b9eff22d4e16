import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

// A stand-in homeserver on a real port: it records exactly what reached it (raw target, raw
// headers, body bytes) so tests can assert that a denied request never arrived and an allowed
// one arrived byte for byte.

export interface Received {
  method: string
  /** The request target exactly as it arrived */
  url: string
  rawHeaders: string[]
  headers: IncomingMessage['headers']
  httpVersion: string
  /** The body, unless the test asked for streaming mode (then only length and hash) */
  body: Buffer
  bodyLength: number
  bodySha256: string
}

export interface Reply {
  status?: number
  headers?: Record<string, string | string[]> | string[]
  body?: string | Buffer
  /** Wait this long before answering */
  delayMs?: number
}

export type Responder = (r: Received, req: IncomingMessage, res: ServerResponse) => Reply | undefined | Promise<Reply | undefined>

export interface Homeserver {
  url: string
  port: number
  received: Received[]
  /** Requests whose path contains this text */
  receivedMatching: (text: string) => Received[]
  respond: (fn: Responder) => void
  /** Keep only length and hash of bodies (for very large uploads) */
  streamBodies: boolean
  /**
   * Opt-in: answer GET .../account/whoami itself, before the responder, for any bearer token:
   * `@<token>:<serverName>` (what invite learning asks). Those requests are kept in
   * `whoamiReceived`, not `received`, so tests counting what reached the homeserver are unchanged.
   */
  answerWhoami: (serverName?: string) => void
  whoamiReceived: Received[]
  server: Server
  close: () => Promise<void>
}

export function defaultReply (r: Received): Reply {
  if (r.url.includes('/requestToken')) return { status: 200, body: JSON.stringify({ sid: 'sid-' + r.bodySha256.slice(0, 8) }), headers: { 'Content-Type': 'application/json' } }
  return { status: 200, body: JSON.stringify({ ok: true, path: r.url }), headers: { 'Content-Type': 'application/json', 'X-Homeserver': 'stand-in' } }
}

export async function startHomeserver (t?: { teardown: (fn: () => unknown) => void }): Promise<Homeserver> {
  let responder: Responder = (r) => defaultReply(r)
  let whoamiServer: string | null = null
  const hs: Partial<Homeserver> = { received: [], streamBodies: false, whoamiReceived: [] }
  const server = createServer((req, res) => {
    const hash = createHash('sha256')
    const chunks: Buffer[] = []
    let length = 0
    req.on('data', (c: Buffer) => {
      length += c.length
      hash.update(c)
      if (hs.streamBodies !== true) chunks.push(c)
    })
    req.on('end', () => {
      const r: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders: req.rawHeaders,
        headers: req.headers,
        httpVersion: req.httpVersion,
        body: Buffer.concat(chunks),
        bodyLength: length,
        bodySha256: hash.digest('hex')
      }
      if (whoamiServer !== null && r.method === 'GET' && /^\/_matrix\/client\/v3\/account\/whoami(\?|$)/.test(r.url)) {
        hs.whoamiReceived?.push(r)
        const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1]
        const body = token === undefined ? '{"errcode":"M_MISSING_TOKEN","error":"Missing access token"}' : JSON.stringify({ user_id: `@${token}:${whoamiServer}`, device_id: 'DEV', is_guest: false })
        res.writeHead(token === undefined ? 401 : 200, { 'Content-Type': 'application/json' })
        res.end(body)
        return
      }
      hs.received?.push(r)
      Promise.resolve(responder(r, req, res)).then(async (reply) => {
        if (reply === undefined || res.headersSent) return
        if (reply.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, reply.delayMs))
        res.writeHead(reply.status ?? 200, reply.headers as never)
        res.end(reply.body)
      }, (err) => { res.destroy(err) })
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  Object.assign(hs, {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    receivedMatching: (text: string) => (hs.received ?? []).filter((r) => r.url.includes(text)),
    respond: (fn: Responder) => { responder = fn },
    answerWhoami: (serverName = 'localhost') => { whoamiServer = serverName },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  })
  t?.teardown(() => (hs as Homeserver).close())
  return hs as Homeserver
}
