import { withDeadline } from '../deadline.js'
import { InvalidPageToken } from './kysely-store.js'
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
export function guardStore (store: Store, watch: StoreWatch, timeoutMs: number): Store {
  function wrap<A extends unknown[], R> (operation: string, f: (...a: A) => Promise<R>, limit: number | null): (...a: A) => Promise<R> {
    return async (...args: A): Promise<R> => {
      try {
        const p = f(...args)
        const r = limit === null ? await p : await withDeadline(p, limit, 'store')
        watch.answered(operation)
        return r
      } catch (err) {
        if (err instanceof InvalidPageToken) { watch.answered(operation); throw err }
        watch.failed(operation, err)
        throw new StoreUnavailableError(operation, err)
      }
    }
  }
  const s = store
  return {
    kind: s.kind,
    invites: {
      // imports of many invites may take long; only what a request waits on is bounded
      add: wrap('invites.add', (i) => s.invites.add(i), timeoutMs),
      addMany: wrap('invites.addMany', (i) => s.invites.addMany(i), null),
      findPending: wrap('invites.findPending', (m, a, n) => s.invites.findPending(m, a, n), timeoutMs),
      list: wrap('invites.list', (q) => s.invites.list(q), timeoutMs),
      get: wrap('invites.get', (id) => s.invites.get(id), timeoutMs),
      revoke: wrap('invites.revoke', (id, now) => s.invites.revoke(id, now), timeoutMs),
      revokeByInviter: wrap('invites.revokeByInviter', (i, now) => s.invites.revokeByInviter(i, now), timeoutMs),
      countByInviter: wrap('invites.countByInviter', (i, since) => s.invites.countByInviter(i, since), timeoutMs)
    },
    sessions: {
      put: wrap('sessions.put', (x) => s.sessions.put(x), timeoutMs),
      get: wrap('sessions.get', (c, sid, n) => s.sessions.get(c, sid, n), timeoutMs)
    },
    txns: {
      claim: wrap('txns.claim', (k, c, n, ttl) => s.txns.claim(k, c, n, ttl), timeoutMs),
      finish: wrap('txns.finish', (k, c) => s.txns.finish(k, c), timeoutMs),
      release: wrap('txns.release', (k, c) => s.txns.release(k, c), timeoutMs)
    },
    rateLimits: {
      hit: wrap('rateLimits.hit', (k, w, n) => s.rateLimits.hit(k, w, n), timeoutMs)
    },
    sweep: wrap('sweep', (n, h) => s.sweep(n, h), null),
    ping: wrap('ping', () => s.ping(), timeoutMs),
    close: () => s.close()
  }
}
