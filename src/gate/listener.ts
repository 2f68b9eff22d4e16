import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { createServer } from '../node-http.js'
import { sendErrorAndClose } from '../reply.js'

// The gate's listener: a plain node:http server. Every request is the gate's (src/gate/gate.ts
// classifies the raw target itself and each handler answers on the raw response), so a web
// framework would only add its routing, hooks and request objects to every denial.

export interface GateListener {
  readonly server: Server
  listen: (at: { host: string, port: number }) => Promise<void>
  /** Requests received and not yet answered (or whose connection has not yet closed) */
  inFlight: () => number
  /**
   * Stops accepting connections and closes the idle ones; a request arriving on a kept-alive
   * connection meanwhile is answered 503 with Connection: close. Resolves once every
   * connection has closed (server.ts closes the rest after server.shutdown_timeout_ms).
   */
  close: () => Promise<void>
}

export interface ListenerOptions {
  /** server.headers_timeout_ms: the request line and headers must arrive within it (0: no limit) */
  headersTimeoutMs: number
  /** Malformed HTTP, or headers too slow: answered on the bare socket */
  onClientError: (err: Error & { code?: string }, socket: Duplex) => void
  /** Runs once before the first connection is accepted */
  beforeListen?: () => Promise<void>
}

/** Kept-alive connections stay open this long between requests, as under fastify before (72 s). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000

/** Node checks header deadlines on an interval: often enough that the timeout means what it says. */
function checkingInterval (headersTimeoutMs: number): number {
  return headersTimeoutMs === 0 ? 1000 : Math.min(1000, Math.max(100, Math.floor(headersTimeoutMs / 4)))
}

export function gateListener (handle: (req: IncomingMessage, res: ServerResponse) => void, opts: ListenerOptions): GateListener {
  let inFlight = 0
  let closing = false
  const left = (): void => { inFlight-- }
  const server = createServer({
    headersTimeout: opts.headersTimeoutMs,
    // the whole request, body included, has no deadline: a large upload on a slow link may take
    // long; a body that stops arriving is server.body_timeout_ms's business (body-idle.ts)
    requestTimeout: 0,
    connectionsCheckingInterval: checkingInterval(opts.headersTimeoutMs),
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS
  }, (req, res) => {
    inFlight++
    // on, not once: the response is dropped after 'close' anyway, and once wraps the listener
    res.on('close', left)
    if (closing) {
      sendErrorAndClose(req, res, 'SHUTTING_DOWN')
      return
    }
    handle(req, res)
  })
  server.on('clientError', opts.onClientError)
  return {
    server,
    inFlight: () => inFlight,
    async listen ({ host, port }) {
      await opts.beforeListen?.()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => { server.off('error', reject); resolve() })
      })
    },
    async close () {
      closing = true
      if (!server.listening) return
      const closed = new Promise<void>((resolve) => server.close(() => { resolve() }))
      server.closeIdleConnections()
      await closed
    }
  }
}
