import type { Dispatcher } from 'undici'
import type { MxResolver } from './dns/mx.js'
import type { LiveLists } from './lists/live.js'
import type { Metrics } from './metrics.js'
import type { HitCounter } from './ratelimit/counter.js'
import type { Runtime } from './runtime.js'
import type { Store } from './store/store.js'

// What every route needs, handed to each when the app is built.
export interface AppContext {
  /** Connections to the homeserver */
  pool: Dispatcher
  /** The configuration in force now (replaced whole on reload) */
  runtime: () => Runtime
  /** Invites (and sessions): opened at start-up from storage.url, shared by instances */
  store: Store
  metrics: Metrics
  /** Rate-limit counters: in memory, in the store, or in Redis (register.rate_limit) */
  counter: HitCounter
  /** The *_urls domain lists: cached, refreshed in the background */
  lists: LiveLists
  /** DNS for the mail-server rules (dns.*), answers kept for their TTL */
  mx: MxResolver
}
