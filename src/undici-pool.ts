import { createRequire } from 'node:module'
import type { Pool as UndiciPool } from 'undici'

// undici's Pool, required from its own file: undici's index also loads fetch, WebSocket,
// EventSource, the cache and cookie APIs, and through globalThis.Headers node's bundled copy of
// undici besides: about 25 MB of RSS and 40 ms of start-up that regguard, which only needs the
// Pool, would pay in every instance. The index's other effect (the global dispatcher) is unused.

export const Pool = createRequire(import.meta.url)('undici/lib/dispatcher/pool.js') as typeof UndiciPool
export type Pool = UndiciPool
