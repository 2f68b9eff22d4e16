import { withDeadline } from '../deadline.js'
import { InvalidPageToken } from './page-token.js'
import type { Store } from './store.js'

// Every call regguard makes to its store goes through here, so an outage (PostgreSQL restarted,
// failed over, unreachable) reaches the routes as one kind of error they can answer with a
// temporary Matrix error, never as a hang or a crash.

/** The store could not answer (down, unreachable, too slow): nothing about the request is known. */
export class StoreUnavailableError extends Error {
  /** What went wrong, fit for /ready: a connection refused to every address has no message, only a code */
  readonly reason: string
  constructor (readonly operation: string, cause: unknown) {
    const e = cause as { message?: unknown, code?: unknown }
    const reason = typeof e?.message === 'string' && e.message !== '' ? e.message : typeof e?.code === 'string' ? e.code : String(cause)
    // loggers append the cause's message
    super(`store unavailable (${operation})`, { cause })
    this.reason = reason
  }
}

export interface StoreWatch {
  /** Each failed call (counted in regguard_store_errors_total) */
  failed: (operation: string, err: unknown) => void
  /** Each call that answered; lets the caller notice the store is back */
  answered: (operation: string) => void
}

/**
 * The store with every failure turned into StoreUnavailableError (bad page tokens stay what they
 * are: they are the caller's fault) and the calls made on request paths bounded by `timeoutMs`.
 */
const UNBOUNDED = new Set(['invites.addMany', 'decisions.addMany', 'decisions.sweep'])

export function guardStore (store: Store, watch: StoreWatch, timeoutMs: number): Store {
  function wrap<A extends unknown[], R> (operation: string, f: (...a: A) => Promise<R>, limit: number | null): (...a: A) => Promise<R> {
    return async (...args: A): Promise<R> => {
      try {
        const r = limit === null ? await f(...args) : await withDeadline(() => f(...args), limit, 'store')
        watch.answered(operation)
        return r
      } catch (err) {
        if (err instanceof InvalidPageToken) { watch.answered(operation); throw err }
        watch.failed(operation, err)
        throw new StoreUnavailableError(operation, err)
      }
    }
  }
  // every call of every part of the store, so a method added to Store is guarded without a
  // line here; only calls no request waits on (bulk imports and writes, the sweep) are unbounded
  const part = <T extends object>(name: string, obj: T): T => {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v !== 'function') continue
      const op = `${name}.${k}`
      out[k] = wrap(op, (...a: unknown[]) => (v as (...x: unknown[]) => Promise<unknown>).apply(obj, a), UNBOUNDED.has(op) ? null : timeoutMs)
    }
    return out as T
  }
  return {
    kind: store.kind,
    invites: part('invites', store.invites),
    sessions: part('sessions', store.sessions),
    txns: part('txns', store.txns),
    uia: part('uia', store.uia),
    registrations: part('registrations', store.registrations),
    accessRequests: part('accessRequests', store.accessRequests),
    rateLimits: part('rateLimits', store.rateLimits),
    decisions: part('decisions', store.decisions),
    secret: wrap('secret', (n: string, make: () => string) => store.secret(n, make), timeoutMs),
    sweep: wrap('sweep', (n: number, h: number) => store.sweep(n, h), null),
    ping: wrap('ping', () => store.ping(), timeoutMs),
    close: () => store.close(),
    // read in the background by the invite index, which handles its own failures
    ...(store.inviteFeed !== undefined ? { inviteFeed: store.inviteFeed } : {})
  }
}
