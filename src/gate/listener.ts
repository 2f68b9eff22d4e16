import type { Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Dispatcher } from 'undici'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics.js'
import { replyRawError, sendErrorAndClose } from '../reply.js'
import type { GateHook } from './gate.js'
import { passThroughRoute } from './pass-through.js'

// The gate's listener: a fastify instance with one catch-all route. Its onRequest hook (the
// gate's dispatch, gate.ts) classifies every request on its raw target and takes the policed
// ones from fastify; the rest reach the catch-all, @fastify/http-proxy (pass-through.ts).

export interface GateListener {
  readonly app: FastifyInstance
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
  logger: Logger
  /** homeserver.url: where pass-through requests go */
  upstream: string
  /** The pass-through connections (homeserver.connections) */
  passThroughPool: Dispatcher
  metrics: Metrics
  /** server.headers_timeout_ms: the request line and headers must arrive within it (0: no limit) */
  headersTimeoutMs: number
  /**
   * Malformed HTTP, or headers too slow: answered on the bare socket, unless `answering` (an
   * answer to an earlier request is being written on that connection)
   */
  onClientError: (err: Error & { code?: string }, socket: Duplex, answering: boolean) => void
  /** Runs once before the first connection is accepted */
  beforeListen?: () => Promise<void>
}

/** Kept-alive connections stay open this long between requests. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000

/** Node checks header deadlines on an interval: often enough that the timeout means what it says. */
function checkingInterval (headersTimeoutMs: number): number {
  return headersTimeoutMs === 0 ? 1000 : Math.min(1000, Math.max(100, Math.floor(headersTimeoutMs / 4)))
}

export function gateListener (dispatch: GateHook, opts: ListenerOptions): GateListener {
  let inFlight = 0
  let closing = false
  const left = (): void => { inFlight-- }
  // the answer each connection is writing, for client errors that arrive meanwhile
  const answers = new WeakMap<Duplex, ServerResponse>()
  const answering = (socket: Duplex): boolean => {
    const res = answers.get(socket)
    return res !== undefined && res.headersSent && !res.writableFinished
  }
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    http: {
      headersTimeout: opts.headersTimeoutMs,
      connectionsCheckingInterval: checkingInterval(opts.headersTimeoutMs)
    },
    // the whole request, body included, has no deadline: a large upload on a slow link may take
    // long; a body that stops arriving is server.body_timeout_ms's business (body-idle.ts)
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // shutdown is answered by the gate itself, in the Matrix error form (below)
    return503OnClosing: false,
    forceCloseConnections: false,
    // malformed HTTP gets a Matrix error too, not Node's or fastify's bare 400
    clientErrorHandler: (err, socket) => { opts.onClientError(err, socket, answering(socket)) },
    // a target fastify's router cannot decode: Synapse could not route it either
    frameworkErrors: (err, request, reply) => {
      request.log.info({ err: { code: err.code, message: err.message } }, 'request refused by the router')
      replyRawError(reply, 'UNRECOGNIZED')
    },
    routerOptions: { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 65_535 },
    exposeHeadRoutes: false
  })
  app.decorateRequest('gate', null)
  app.decorateRequest('gateContext', null)
  app.addHook('onRequest', (request, reply, done) => {
    const res = reply.raw
    inFlight++
    // on, not once: the response is dropped after 'close' anyway, and once wraps the listener
    res.on('close', left)
    answers.set(request.raw.socket, res)
    if (closing) {
      reply.hijack()
      sendErrorAndClose(request.raw, res, 'SHUTTING_DOWN')
      return
    }
    dispatch(request, reply, done)
  })
  app.setErrorHandler((err, request, reply) => {
    const status = (err as { statusCode?: number }).statusCode
    if (status === undefined || status >= 500) request.log.error({ err }, 'request failed')
    replyRawError(reply, status === 413 ? 'TOO_LARGE' : status !== undefined && status < 500 ? 'UNRECOGNIZED' : 'INTERNAL')
  })
  app.setNotFoundHandler((_request, reply) => { replyRawError(reply, 'UNRECOGNIZED') })
  passThroughRoute(app, opts.upstream, opts.passThroughPool, opts.metrics)
  return {
    app,
    get server () { return app.server },
    inFlight: () => inFlight,
    async listen ({ host, port }) {
      await opts.beforeListen?.()
      await app.listen({ host, port })
    },
    async close () {
      closing = true
      if (!app.server.listening) { await app.close(); return }
      const closed = app.close()
      app.server.closeIdleConnections()
      await closed
    }
  }
}
