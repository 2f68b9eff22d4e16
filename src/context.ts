import type { Dispatcher } from 'undici'
import type { DecisionRecorder } from './audit/recorder.js'
import type { Medium } from './synapse/canonical.js'
import type { MxResolver } from './dns/mx.js'
import type { LiveLists } from './lists/live.js'
import type { Metrics } from './metrics.js'
import type { HitCounter } from './ratelimit/counter.js'
import type { InFlight } from './ratelimit/in-flight.js'
import type { Runtime } from './runtime.js'
import type { Store } from './store/store.js'
import type { InviteIndex } from './invites/index.js'
import type { Notifier } from './notify/notifier.js'
import type { MasFeeder } from './mas/feeder.js'

// What every route needs, handed to each when the app is built.
export interface AppContext {
  /**
   * Connections to the homeserver for the policed routes (requestToken, /register, invites) and
   * readiness: kept apart (homeserver.registration_connections) so that pass-through traffic,
   * however slow, never makes registration wait for a connection
   */
  pool: Dispatcher
  /** Connections for everything else (homeserver.connections) */
  passThroughPool: Dispatcher
  /**
   * Requests each client has at the homeserver now (server.per_client_concurrency), counted
   * apart for each pool: a client busy with uploads can still register
   */
  inFlight: { passThrough: InFlight, policed: InFlight }
  /** The configuration in force now (replaced whole on reload) */
  runtime: () => Runtime
  /** Invites (and sessions): opened at start-up from storage.url, shared by instances */
  store: Store
  /** Which addresses may have a pending invite, so most denials never ask the store */
  inviteIndex: Pick<InviteIndex, 'mayHave'>
  metrics: Metrics
  /** Rate-limit counters: in memory, in the store, or in Redis (register.rate_limit) */
  counter: HitCounter
  /** The decision history's queue: record() never waits on the store */
  audit: DecisionRecorder
  /** An address fit for logs (log.full_addresses, else keyed hashes under the key loaded at start-up) */
  redactAddress: (medium: Medium, address: string) => string
  /** The *_urls domain lists: cached, refreshed in the background */
  lists: LiveLists
  /** DNS for the mail-server rules (dns.*), answers kept for their TTL */
  mx: MxResolver
  /** The MAS feeder, when mas.url is set (src/mas/feeder.ts): shown on /ready */
  mas?: MasFeeder
  /** Notices to the operators (notify.*): queued, never awaited; absent in contexts built without one */
  notify?: Notifier
}
