import type { KeyObject } from 'node:crypto'
import type { Duplex } from 'node:stream'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { Pool } from 'undici'
import type { LoadedConfig } from './config/load.js'
import type { Medium } from './synapse/canonical.js'
import type { AppContext } from './context.js'
import type { MatrixErrorName } from './errors.js'
import { replyError, socketError } from './reply.js'
import { createLogger, loadHashKey, redactAddress, type Logger } from './log.js'
import { MxResolver } from './dns/mx.js'
import { LiveLists } from './lists/live.js'
import { pendingInvite } from './invites/pending.js'
import { InviteIndex, noIndex } from './invites/index.js'
import { DecisionRecorder, type RecorderOptions } from './audit/recorder.js'
import { adminDecisionRoutes } from './admin/decisions.js'
import { adminImportRoutes } from './admin/import.js'
import { adminInviteRoutes } from './admin/invites.js'
import { adminPolicyRoutes } from './admin/policy.js'
import { consoleRoutes } from './admin/console.js'
import { accessRequestRoutes } from './approval/admin-routes.js'
import { startApprovals } from './approval/wiring.js'
import { APPROVAL_CAP_WINDOW_MS } from './approval/ask.js'
import { Metrics } from './metrics.js'
import { gateDispatch } from './gate/gate.js'
import { gateListener, type GateListener } from './gate/listener.js'
import { MemoryCounter, type HitCounter } from './ratelimit/counter.js'
import { InFlight } from './ratelimit/in-flight.js'
import { healthRoutes } from './admin/health.js'
import { threepidCheckRoute } from './admin/threepid-check.js'
import { synapseModuleRoutes } from './admin/synapse-module.js'
import { makeRuntime, type Runtime } from './runtime.js'
import { guardStore, StoreUnavailableError } from './store/guarded.js'
import { openStore } from './store/open.js'
import type { Store } from './store/store.js'
import { storeWatch } from './store/watch.js'

// Builds regguard's two listeners without listening, each a fastify instance: the gate (the
// proxy, src/gate/) and the admin listener (src/admin/).

export interface RegguardApp {
  proxy: GateListener
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
  /** The decision history's queue: size and batching (defaults in src/audit/recorder.ts) */
  audit?: Pick<RecorderOptions, 'maxQueued' | 'batchSize' | 'intervalMs'>
  /** Default: from register.rate_limit (a cluster worker's is its primary's: src/cluster/) */
  counter?: HitCounter
  /** How often the MAS feeder looks at the live lists' copies (default in src/mas/feeder.ts) */
  masPollMs?: number
}

const SWEEP_INTERVAL_MS = 10 * 60 * 1000

async function makeCounter (config: LoadedConfig, store: Store, logger: Logger): Promise<HitCounter> {
  const rl = config.settings.register.rate_limit
  if (rl.redis_url !== '') {
    // loaded only when configured: ioredis costs memory and start-up time every instance pays otherwise
    const { RedisCounter } = await import('./ratelimit/redis-counter.js')
    return new RedisCounter(rl.redis_url, {
      timeoutMs: rl.timeout_ms,
      onDown: (err) => { logger.error({ err }, 'rate-limit Redis unavailable: requests go on without being limited until it answers') },
      onUp: () => { logger.info('rate-limit Redis answering again') }
    })
  }
  if (rl.shared) return { hit: (key, windowMs, now) => store.rateLimits.hit(key, windowMs, now) }
  return new MemoryCounter()
}

function jsonErrorHandlers (app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const status = (err as { statusCode?: number }).statusCode
    // the store being away is temporary, not a fault of regguard (admin API calls end here)
    if (err instanceof StoreUnavailableError) {
      request.log.warn({ err }, 'request refused: store unavailable')
      void replyError(reply, 'STORE_UNAVAILABLE', 'The invite store is temporarily unavailable; please try again later')
      return
    }
    const name: MatrixErrorName = status === 413 ? 'TOO_LARGE' : status !== undefined && status < 500 ? 'UNRECOGNIZED' : 'INTERNAL'
    if (name === 'INTERNAL') request.log.error({ err }, 'request failed')
    void replyError(reply, name, name === 'UNRECOGNIZED' ? (err as Error).message : null)
  })
  app.setNotFoundHandler((request, reply) => {
    void replyError(reply, 'UNRECOGNIZED', null, 404)
  })
}

/**
 * Malformed HTTP, or headers that did not arrive within server.headers_timeout_ms. `answering`
 * tells whether an answer is under way on the connection: as Node itself, regguard never writes
 * into one.
 */
function clientErrorAnswer (metrics: Metrics) {
  return function answerClientError (err: Error & { code?: string }, socket: Duplex, answering: boolean): void {
    const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    if (timeout) metrics.clientTimeouts.inc({ phase: 'headers' })
    if (!socket.writable || answering) { socket.destroy(); return }
    const name: MatrixErrorName = timeout ? 'REQUEST_TIMEOUT' : err.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : 'MALFORMED_HTTP'
    socketError(socket, name)
  }
}

/**
 * Opens the store (a store that cannot open rejects with StoreOpenError naming storage.url) and
 * the address-hash key first, then builds both listeners around them.
 */
export async function buildApp (config: LoadedConfig, opts: BuildOptions = {}): Promise<RegguardApp> {
  const logger = opts.logger ?? createLogger(config.settings.log.level)
  const opened = opts.store ?? await openStore(config.settings.storage.url, { queryTimeoutMs: config.settings.storage.timeout_ms })
  // the key of the address hashes, loaded once with the store (log.hash_key is read at start-up)
  let hashKey: KeyObject
  try {
    hashKey = await loadHashKey(config.settings.log.hash_key, opened)
  } catch (err) {
    if (opts.store === undefined) await opened.close()
    throw err
  }
  let runtime: Runtime = makeRuntime(config)
  const hs = config.settings.homeserver
  const poolOf = (connections: number): Pool => new Pool(hs.url, {
    connections,
    pipelining: 1,
    headersTimeout: hs.timeout_ms,
    bodyTimeout: hs.timeout_ms,
    keepAliveTimeout: 30_000
  })
  // two pools: however many connections slow pass-through clients hold, the policed routes
  // (registration) have their own
  const pool = poolOf(hs.registration_connections)
  const passThroughPool = poolOf(hs.connections)
  const metrics = opts.metrics ?? new Metrics()
  // an outage of the store reaches the routes as StoreUnavailableError, and calls are bounded
  const guarded = guardStore(opened, storeWatch(metrics, logger), config.settings.storage.timeout_ms)
  const index = guarded.inviteFeed !== undefined ? new InviteIndex(guarded.inviteFeed, { log: logger }) : null
  // a reading that fails leaves the index untrusted (every denial asks the store) and is retried
  await index?.ready()
  // invites written through this process are in the index before they are in the store
  const store = index !== null ? index.noting(guarded) : guarded
  const inviteIndex = index ?? noIndex()
  // chosen at start-up: a reload does not move counters between backends
  const counter = opts.counter ?? await makeCounter(config, store, logger)
  const redact = (medium: Medium, address: string): string => redactAddress(medium, address, runtime.config.settings.log.full_addresses, hashKey)
  const audit = new DecisionRecorder({
    ...opts.audit,
    write: (batch) => store.decisions.addMany(batch),
    maxRows: () => runtime.config.settings.audit.max_rows,
    trim: (maxRows, atMost) => store.decisions.trim(maxRows, atMost),
    fullAddresses: () => runtime.config.settings.log.full_addresses,
    redact: (medium, address, full) => redactAddress(medium, address, full, hashKey),
    onDropped: (reason, n) => { metrics.decisionsDropped.inc({ reason }, n) },
    onError: (err) => { logger.error({ err }, 'could not write decisions to the history') }
  })
  const lists = new LiveLists(config.settings.lists, { log: logger, metrics: { refreshes: metrics.listRefreshes, entries: metrics.listEntries }, schedule: true })
  lists.adopt(config)
  const mx = new MxResolver(config.settings.dns, metrics.mxLookups)
  // mas.url is read at start-up; loaded only when set. Started by server.ts once listening
  const mas = config.settings.mas.url === '' ? undefined : new (await import('./mas/feeder.js')).MasFeeder(config, { log: logger, metrics: { pushes: metrics.masPushes }, listsReady: () => lists.ready(), ...(opts.masPollMs !== undefined ? { pollMs: opts.masPollMs } : {}) })
  const context: AppContext = {
    pool,
    passThroughPool,
    inFlight: { passThrough: new InFlight(), policed: new InFlight() },
    runtime: () => runtime,
    store,
    inviteIndex,
    metrics,
    counter,
    audit,
    redactAddress: redact,
    lists,
    mx,
    ...(mas !== undefined ? { mas } : {})
  }
  // issue 25: the operators' notifier (context.notify) and the access requests' sweep
  const approvals = startApprovals(context, logger)
  // expired sessions and old rate-limit windows are deleted now and then (every instance may
  // sweep: the deletes are idempotent)
  const sweeper = setInterval(() => {
    const rl = runtime.config.settings.register.rate_limit
    // the access requests' caps count per hour in the same table (src/approval/ask.ts)
    store.sweep(Date.now(), 2 * Math.max(rl.per_ip.window, rl.per_address.window, APPROVAL_CAP_WINDOW_MS)).then((n) => {
      if (n.sessions + n.rateLimits > 0) logger.debug(n, 'store swept')
    }, (err: Error) => { logger.error({ err }, 'store sweep failed') })
    store.decisions.sweep(Date.now() - runtime.config.settings.audit.retention).then((n) => {
      if (n > 0) logger.debug({ decisions: n }, 'decision history swept')
    }, (err: Error) => { logger.error({ err }, 'decision history sweep failed') })
  }, SWEEP_INTERVAL_MS)
  sweeper.unref()

  const dispatch = gateDispatch(context, {
    findSession: async (clientSecret, sid) => {
      const s = await store.sessions.get(clientSecret, sid, Date.now())
      return s === null ? null : { medium: s.medium, address: s.address, endpoint: s.endpoint === 'account' ? 'account' : 'register' }
    },
    findInvite: (medium, address) => pendingInvite(store, runtime.config.policy, medium, address, inviteIndex)
  }, { logger, logRequests: config.settings.log.requests })
  const proxy = gateListener(dispatch, {
    logger,
    upstream: hs.url,
    passThroughPool,
    metrics,
    headersTimeoutMs: config.settings.server.headers_timeout_ms,
    onClientError: clientErrorAnswer(metrics),
    beforeListen: async () => { await lists.ready() }
  })

  const admin: FastifyInstance = Fastify({ loggerInstance: logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) })
  jsonErrorHandlers(admin)
  healthRoutes(admin, context)
  adminInviteRoutes(admin, context)
  adminDecisionRoutes(admin, context)
  adminImportRoutes(admin, context)
  adminPolicyRoutes(admin, context)
  consoleRoutes(admin, context)
  accessRequestRoutes(admin, context)
  threepidCheckRoute(admin, context)
  synapseModuleRoutes(admin, context)

  return {
    proxy,
    admin,
    context,
    reconfigure (next) {
      // the lists keep their copies (no download here); the new policy's slots are bound first
      lists.adopt(next)
      mx.configure(next.settings.dns)
      runtime = makeRuntime(next)
      mas?.reconfigure(next)
      // Node reads it at each check; the check interval stays the one chosen at start-up
      proxy.server.headersTimeout = next.settings.server.headers_timeout_ms
    },
    async close () {
      await Promise.all([proxy.close(), admin.close()])
      clearInterval(sweeper)
      approvals.close()
      // after the listeners: every decision made is queued by now; before the store closes
      await audit.close()
      await mas?.stop()
      await lists.close()
      await Promise.all([pool.close(), passThroughPool.close()])
      await counter.close?.()
      await index?.close()
      if (opts.store === undefined) await store.close()
    }
  }
}
