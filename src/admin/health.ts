import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.js'
import { exchange } from '../homeserver/exchange.js'
import { StoreUnavailableError } from '../store/guarded.js'

// Admin listener: liveness, readiness and Prometheus metrics.

export function healthRoutes (admin: FastifyInstance, ctx: AppContext): void {
  // alive: the process answers
  admin.get('/health', async () => ({ status: 'ok' }))

  // ready: the homeserver answers (any HTTP status counts) and the store answers a query now. The
  // live lists are shown, never counted: a list source down keeps its last copy, and is no reason
  // to take the proxy out of rotation
  admin.get('/ready', async (_request, reply) => {
    // a MAS feeder alone (server.enabled false) forwards nothing: the homeserver is not its concern
    const gate = ctx.runtime().config.settings.server.enabled
    const [homeserver, store] = await Promise.all([
      gate ? exchange(ctx.pool, { method: 'GET', path: '/_matrix/client/versions', headers: [], body: null }).then((r) => r.ok ? 'ok' : r.failure) : Promise.resolve('not used (server.enabled: false)'),
      // a real round trip: the store may have gone away since start-up (errors carry no secret:
      // pg and the guard never put the URL's password in a message)
      ctx.store.ping().then(() => 'ok', (err: Error) => `error: ${err instanceof StoreUnavailableError ? err.reason : err.message}`)
    ])
    const ready = (homeserver === 'ok' || !gate) && store === 'ok'
    const lists = ctx.lists.status()
    // decisions the history lost (queue full, store refused, past audit.max_rows): shown, never counted
    const history = ctx.audit.dropped > 0 ? { history: { dropped: ctx.audit.dropped, dropped_by: { ...ctx.audit.droppedBy } } } : {}
    // the MAS feeder's last push (a refusal included): shown, never counted, as the lists
    const mas = ctx.mas !== undefined ? { mas: ctx.mas.status() } : {}
    // the operators' notice channels (notify.*), failures included: shown, never counted
    const notify = ctx.notify !== undefined && Object.keys(ctx.notify.status()).length > 0 ? { notify: ctx.notify.status() } : {}
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', homeserver, store, ...(lists.length > 0 ? { lists } : {}), ...history, ...mas, ...notify })
  })

  admin.get('/metrics', async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics()
    return reply.type(ctx.metrics.registry.contentType).send(text)
  })
}
