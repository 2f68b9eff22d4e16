import { METHODS } from 'node:http'
import type { Duplex } from 'node:stream'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify'
import { Pool } from 'undici'
import type { LoadedConfig } from './config/load.js'
import type { AppContext } from './context.js'
import { matrixError } from './errors.js'
import { createLogger, redactTarget, type Logger } from './log.js'
import { MxResolver } from './dns/mx.js'
import { LiveLists } from './lists/live.js'
import { classify, type InviteRoute, type Route, type TokenRoute } from './proxy/classify.js'
import { pendingInvite } from './invites/pending.js'
import { adminInviteRoutes } from './routes/admin-invites.js'
import { Metrics } from './metrics.js'
import { MemoryCounter, type HitCounter } from './ratelimit/counter.js'
import { RedisCounter } from './ratelimit/redis-counter.js'
import { healthRoutes } from './routes/health.js'
import { learnInvitesHandler } from './routes/learn-invites.js'
import { passThroughHandler } from './routes/pass-through.js'
import { registerHandler } from './routes/register.js'
import { requestTokenHandler } from './routes/request-token.js'
import { threepidCheckRoute } from './routes/threepid-check.js'
import { makeRuntime, type Runtime } from './runtime.js'
import { deferredStore } from './store/deferred.js'
import { openStore } from './store/open.js'
import type { Store } from './store/store.js'
import { storageKind } from './store/url.js'

// Builds regguard's two fastify instances (the proxy and the admin listener) without listening.

export interface RegguardApp {
  proxy: FastifyInstance
  admin: FastifyInstance
  context: AppContext
  /** Swap in a new configuration; requests already running keep the one they started with. */
  reconfigure: (config: LoadedConfig) => void
  close: () => Promise<void>
}

export interface BuildOptions {
  logger?: Logger
  /** A store opened by the caller (who closes it); default: opened from storage.url */
  store?: Store
  /** Default: a registry of its own, with process metrics */
  metrics?: Metrics
}

const kRoute = Symbol('regguard.route')
type TaggedRequest = { [kRoute]?: Route }

// fastify routes on these synthetic paths; the classification was made on the raw target
const POLICED_PATH = '/__regguard/requestToken'
const FORWARD_PATH = '/__regguard/forward'
const INVITE_PATH = '/__regguard/invite'
const REGISTER_PATH = '/__regguard/register'
const SWEEP_INTERVAL_MS = 10 * 60 * 1000
const SYNTHETIC: Record<Route['kind'], string> = {
  forward: FORWARD_PATH,
  requestToken: POLICED_PATH,
  invite: INVITE_PATH,
  register: REGISTER_PATH
}

function makeCounter (config: LoadedConfig, store: Store): HitCounter {
  const rl = config.settings.register.rate_limit
  if (rl.redis_url !== '') return new RedisCounter(rl.redis_url)
  if (rl.shared) return { hit: (key, windowMs, now) => store.rateLimits.hit(key, windowMs, now) }
  return new MemoryCounter()
}

function allMethods (app: FastifyInstance): string[] {
  for (const m of METHODS) {
    if (m !== 'CONNECT' && !app.supportedMethods.includes(m)) app.addHttpMethod(m, { hasBody: true })
  }
  return app.supportedMethods.filter((m) => m !== 'CONNECT')
}

function jsonErrorHandlers (app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const status = (err as { statusCode?: number }).statusCode
    const e = status === 413 ? matrixError('TOO_LARGE') : status !== undefined && status < 500 ? matrixError('UNRECOGNIZED', (err as Error).message) : matrixError('INTERNAL')
    if (e.status >= 500) request.log.error({ err }, 'request failed')
    void reply.code(e.status).type('application/json').send(e.body)
  })
  app.setNotFoundHandler((request, reply) => {
    const e = matrixError('UNRECOGNIZED')
    void reply.code(404).type('application/json').send(e.body)
  })
}

function answerClientError (err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) { socket.destroy(); return }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW'
  const status = tooLarge ? 431 : 400
  const body = JSON.stringify({ errcode: tooLarge ? 'M_TOO_LARGE' : 'M_UNRECOGNIZED', error: tooLarge ? 'Request headers too large' : 'Malformed HTTP request' })
  socket.end(`HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}

export function buildApp (config: LoadedConfig, opts: BuildOptions = {}): RegguardApp {
  const logger = opts.logger ?? createLogger(config.settings.log.level)
  let runtime: Runtime = makeRuntime(config)
  const hs = config.settings.homeserver
  const pool = new Pool(hs.url, {
    connections: hs.connections,
    pipelining: 1,
    headersTimeout: hs.timeout_ms,
    bodyTimeout: hs.timeout_ms,
    keepAliveTimeout: 30_000
  })
  // opened now, awaited before listening (onReady): a store that cannot open stops start-up
  const storeReady = opts.store !== undefined ? Promise.resolve(opts.store) : openStore(config.settings.storage.url)
  storeReady.catch(() => {}) // reported through listen()
  const store = deferredStore(storeReady, opts.store?.kind ?? storageKind(config.settings.storage.url) ?? 'sqlite')
  const metrics = opts.metrics ?? new Metrics()
  // chosen at start-up: a reload does not move counters between backends
  const counter = makeCounter(config, store)
  const lists = new LiveLists(config.settings.lists, { log: logger, metrics: { refreshes: metrics.listRefreshes, entries: metrics.listEntries }, schedule: true })
  lists.adopt(config)
  const mx = new MxResolver(config.settings.dns, metrics.mxLookups)
  const context: AppContext = { pool, runtime: () => runtime, store, metrics, counter, lists, mx }
  // expired sessions and old rate-limit windows are deleted now and then (every instance may
  // sweep: the deletes are idempotent)
  const sweeper = setInterval(() => {
    const rl = runtime.config.settings.register.rate_limit
    store.sweep(Date.now(), 2 * Math.max(rl.per_ip.window, rl.per_address.window)).then((n) => {
      if (n.sessions + n.rateLimits > 0) logger.debug(n, 'store swept')
    }, (err: Error) => { logger.error({ err }, 'store sweep failed') })
  }, SWEEP_INTERVAL_MS)
  sweeper.unref()

  const proxy: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // per-request lines cost throughput on every proxied request; log.requests adds our own
    logController: new LogController({ disableRequestLogging: true }),
    // a function, so request.ip follows server.trusted_proxies across reloads
    trustProxy: (addr: string, hop: number) => runtime.trust(addr, hop),
    // malformed HTTP gets a Matrix error too, not fastify's default body
    clientErrorHandler: answerClientError,
    rewriteUrl (req) {
      // Synapse reads bodies whatever their Content-Type says; fastify would refuse a malformed
      // one with 415 before any route. Forwarding uses rawHeaders, so the header still arrives.
      delete req.headers['content-type']
      const route = classify(req.method ?? 'GET', req.url ?? '/')
      ;(req as TaggedRequest)[kRoute] = route
      return SYNTHETIC[route.kind]
    }
  })
  // Bodies stay unread streams: forwarded as they arrive, or read by the policed route itself
  proxy.removeAllContentTypeParsers()
  proxy.addContentTypeParser('*', (_req, _payload, done) => { done(null) })
  jsonErrorHandlers(proxy)

  const routeOf = (request: FastifyRequest): TokenRoute => (request.raw as TaggedRequest)[kRoute] as TokenRoute
  proxy.post(POLICED_PATH, requestTokenHandler(context, routeOf))
  proxy.route({ method: allMethods(proxy), url: FORWARD_PATH, handler: passThroughHandler(context) })
  const inviteRouteOf = (request: FastifyRequest): InviteRoute => (request.raw as TaggedRequest)[kRoute] as InviteRoute
  proxy.route({ method: ['POST', 'PUT'], url: INVITE_PATH, handler: learnInvitesHandler(context, inviteRouteOf) })
  proxy.post(REGISTER_PATH, registerHandler(context, {
    findSession: async (clientSecret, sid) => {
      const s = await store.sessions.get(clientSecret, sid, Date.now())
      return s === null ? null : { medium: s.medium, address: s.address, endpoint: s.endpoint === 'account' ? 'account' : 'register' }
    },
    findInvite: (medium, address) => pendingInvite(store, runtime.config.policy, medium, address, logger)
  }))
  proxy.addHook('onReady', async () => { await storeReady; await lists.ready() })

  if (config.settings.log.requests) {
    proxy.addHook('onRequest', async (request, reply) => {
      const started = process.hrtime.bigint()
      // read now: by 'finish' Node may have detached the socket that request.ip is computed from
      const clientIp = request.ip
      reply.raw.once('finish', () => {
        request.log.info({
          method: request.raw.method,
          target: redactTarget((request.raw as { originalUrl?: string }).originalUrl ?? ''),
          status: reply.raw.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
          client_ip: clientIp
        }, 'request')
      })
    })
  }

  const admin: FastifyInstance = Fastify({ loggerInstance: logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) })
  jsonErrorHandlers(admin)
  healthRoutes(admin, context)
  adminInviteRoutes(admin, context)
  threepidCheckRoute(admin, context)
  admin.addHook('onReady', async () => { await storeReady })

  return {
    proxy,
    admin,
    context,
    reconfigure (next) {
      // the lists keep their copies (no download here); the new policy's slots are bound first
      lists.adopt(next)
      mx.configure(next.settings.dns)
      runtime = makeRuntime(next)
    },
    async close () {
      await Promise.all([proxy.close(), admin.close()])
      clearInterval(sweeper)
      await lists.close()
      await pool.close()
      await counter.close?.()
      if (opts.store === undefined) await store.close()
    }
  }
}
