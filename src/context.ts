import type { Dispatcher } from 'undici'
import type { Medium } from './policy/canonical.js'
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
  /** An address fit for logs (log.full_addresses, else keyed hashes under the key loaded at start-up) */
  redactAddress: (medium: Medium, address: string) => string
}
