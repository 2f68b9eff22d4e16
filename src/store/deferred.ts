import type { Store } from './store.js'

/**
 * A Store usable at once whose calls wait for the real one to open. Lets buildApp stay
 * synchronous; start-up waits on `ready` (a failure there stops it) before listening.
 */
export function deferredStore (ready: Promise<Store>, kind: Store['kind']): Store {
  const on = async <T>(f: (s: Store) => Promise<T>): Promise<T> => await f(await ready)
  return {
    kind,
    decisions: {
      addMany: async (d) => await on((s) => s.decisions.addMany(d)),
      list: async (q) => await on((s) => s.decisions.list(q)),
      summary: async (since, now) => await on((s) => s.decisions.summary(since, now)),
      sweep: async (before) => await on((s) => s.decisions.sweep(before))
    },
    invites: {
      add: async (i) => await on((s) => s.invites.add(i)),
      addMany: async (i) => await on((s) => s.invites.addMany(i)),
      findPending: async (m, a, n) => await on((s) => s.invites.findPending(m, a, n)),
      list: async (q) => await on((s) => s.invites.list(q)),
      get: async (id) => await on((s) => s.invites.get(id)),
      revoke: async (id, now) => await on((s) => s.invites.revoke(id, now)),
      revokeByInviter: async (i, now) => await on((s) => s.invites.revokeByInviter(i, now)),
      countByInviter: async (i, since) => await on((s) => s.invites.countByInviter(i, since))
    },
    sessions: {
      put: async (x) => await on((s) => s.sessions.put(x)),
      get: async (c, sid, n) => await on((s) => s.sessions.get(c, sid, n))
    },
    rateLimits: {
      hit: async (k, w, n) => await on((s) => s.rateLimits.hit(k, w, n))
    },
    txns: {
      claim: async (k, c, n, ttl) => await on((s) => s.txns.claim(k, c, n, ttl)),
      finish: async (k, c) => await on((s) => s.txns.finish(k, c)),
      release: async (k, c) => await on((s) => s.txns.release(k, c))
    },
    sweep: async (n, h) => await on((s) => s.sweep(n, h)),
    ping: async () => { await on((s) => s.ping()) },
    secret: async (n, make) => await on((s) => s.secret(n, make)),
    async close () {
      const s = await ready.catch(() => null)
      await s?.close()
    }
  }
}
