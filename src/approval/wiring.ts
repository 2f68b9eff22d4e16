import type { AppContext } from '../context.js'
import type { Logger } from '../log.js'
import { Notifier } from '../notify/notifier.js'

// What issue 25 adds to a running app: the operators' notifier (on the context, for the gate's
// routes) and the sweep of access requests that no longer matter. src/app.ts calls it once the
// context is built, and close() when the app closes.

const SWEEP_INTERVAL_MS = 10 * 60 * 1000

export function startApprovals (ctx: AppContext, log: Logger, opts: { baseBackoffMs?: number } = {}): { close: () => void } {
  const notifier = new Notifier({
    settings: () => ctx.runtime().config.settings.notify,
    homeserverUrl: () => ctx.runtime().config.settings.homeserver.url,
    log,
    metrics: ctx.metrics,
    ...opts
  })
  ctx.notify = notifier
  const sweeper = setInterval(() => {
    const now = Date.now()
    // decided requests are kept as long as a rejection holds, so the list can show it
    ctx.store.accessRequests.sweep(now, now - ctx.runtime().config.settings.register.approval.reject_ttl).then((n) => {
      if (n > 0) log.debug({ access_requests: n }, 'access requests swept')
    }, (err: Error) => { log.error({ err }, 'access request sweep failed') })
  }, SWEEP_INTERVAL_MS)
  sweeper.unref()
  return {
    close () {
      clearInterval(sweeper)
      notifier.close()
    }
  }
}
