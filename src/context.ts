import type { Dispatcher } from 'undici'
import type { Runtime } from './runtime.js'

// What every route needs, handed to each when the app is built.
export interface AppContext {
  /** Connections to the homeserver */
  pool: Dispatcher
  /** The configuration in force now (replaced whole on reload) */
  runtime: () => Runtime
}
