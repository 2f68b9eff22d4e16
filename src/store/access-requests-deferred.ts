import type { AccessRequestStore } from './access-requests-store.js'

// Apart from access-requests-store.ts, which imports kysely: the SQLite store loads kysely only
// on its first call that is not a prepared statement (sqlite.ts), and this is what it holds meanwhile.

/** The same calls, each handed to a store reached later (SQLite loads kysely on its first call). */
export function deferredAccessRequests (get: () => Promise<AccessRequestStore>): AccessRequestStore {
  return {
    touch: async (m, a, seen) => await (await get()).touch(m, a, seen),
    open: async (r) => await (await get()).open(r),
    rejectedSince: async (m, a, since) => await (await get()).rejectedSince(m, a, since),
    list: async (q) => await (await get()).list(q),
    get: async (id) => await (await get()).get(id),
    decide: async (id, d) => await (await get()).decide(id, d),
    setApplicantTold: async (id, told) => { await (await get()).setApplicantTold(id, told) },
    sweep: async (now, before) => await (await get()).sweep(now, before)
  }
}
