import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

// An HTTP server on loopback serving domain lists as the test scripts them: a body with an ETag
// (answering 304 to a matching If-None-Match), an error status, a slow or endless answer, an
// oversize body. Every request's conditional headers are recorded.

export interface ListReply {
  status?: number
  body?: string | Buffer
  etag?: string
  lastModified?: string
  contentType?: string
  /** wait this long before the headers */
  delayMs?: number
  /** send the headers, then never finish the body */
  hang?: boolean
}

export interface ListServer {
  url: (path: string) => string
  serve: (path: string, reply: ListReply) => void
  requests: Array<{ path: string, ifNoneMatch: string | undefined, ifModifiedSince: string | undefined }>
  requestsFor: (path: string) => ListServer['requests']
  close: () => Promise<void>
}

export async function startListServer (t: { teardown: (fn: () => unknown) => void }): Promise<ListServer> {
  const replies = new Map<string, ListReply>()
  const requests: ListServer['requests'] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/'
    const ifNoneMatch = req.headers['if-none-match']
    requests.push({ path, ifNoneMatch, ifModifiedSince: req.headers['if-modified-since'] })
    const r = replies.get(path) ?? { status: 404, body: 'not found' }
    const send = (): void => {
      if (r.etag !== undefined && ifNoneMatch === r.etag && (r.status ?? 200) === 200) { res.writeHead(304, { ETag: r.etag }); res.end(); return }
      const headers: Record<string, string> = { 'Content-Type': r.contentType ?? 'text/plain; charset=utf-8' }
      if (r.etag !== undefined) headers.ETag = r.etag
      if (r.lastModified !== undefined) headers['Last-Modified'] = r.lastModified
      res.writeHead(r.status ?? 200, headers)
      if (r.hang === true) { res.write('a.example\n'); return }
      res.end(r.body ?? '')
    }
    if (r.delayMs !== undefined) setTimeout(send, r.delayMs).unref()
    else send()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const s: ListServer = {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    serve: (path, reply) => { replies.set(path, reply) },
    requests,
    requestsFor: (path) => requests.filter((r) => r.path === path),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
  t.teardown(() => s.close())
  return s
}
