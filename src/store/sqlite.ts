import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { migrations } from './migrations.js'
import { MIGRATION_TABLE } from './schema.js'
import type { KyselyParts } from './sqlite-kysely.js'
import { prepareHotPaths, prepareIdleCalls, sqliteFeed } from './sqlite-statements.js'
import type { Store } from './store.js'
import { deferredAccessRequests } from './access-requests-deferred.js'

// kysely (~400 ES modules: ~7 MB of idle RSS and ~150 ms of start-up CPU, measured with the
// footprint bench) is loaded by the first call that is not a prepared statement (admin and CLI
// calls, transactions, the invites learned from room invites), not at open: the calls of
// start-up, of the timers and of the health check are statements (sqlite-statements.ts), and
// the migrations are run through kysely only when the file is not at the latest one already.

/** The file a sqlite:// URL names: "sqlite://./data/x.sqlite" is relative to the working directory. */
export function sqlitePath (url: string, cwd = process.cwd()): string {
  const rest = url.slice('sqlite://'.length)
  if (rest === '') throw new Error('no file name after sqlite://')
  return resolve(cwd, decodeURIComponent(rest))
}

/**
 * True when the file has run exactly the migrations this version knows: then kysely's Migrator
 * would do nothing. Anything else (a new file, a missing migration, one this version does not
 * know) goes to the Migrator, which runs or refuses as before.
 */
export function atLatestMigration (sqlite: BetterSqlite3.Database): boolean {
  const table = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(MIGRATION_TABLE)
  if (table === undefined) return false
  const done = (sqlite.prepare(`SELECT name FROM "${MIGRATION_TABLE}"`).pluck().all() as string[]).sort()
  const known = Object.keys(migrations('sqlite')).sort()
  return done.length === known.length && done.every((name, i) => name === known[i])
}

/** The Store with every call handed to kysely's, loaded on the first call. */
function onFirstCall (sqlite: BetterSqlite3.Database, load: () => Promise<KyselyParts>, loaded: () => Promise<KyselyParts> | undefined): Store {
  const s = async (): Promise<Store> => (await load()).store
  return {
    kind: 'sqlite',
    invites: {
      add: async (i) => await (await s()).invites.add(i),
      addMany: async (is) => await (await s()).invites.addMany(is),
      findPending: async (m, a, now) => await (await s()).invites.findPending(m, a, now),
      list: async (q) => await (await s()).invites.list(q),
      get: async (id) => await (await s()).invites.get(id),
      revoke: async (id, now) => await (await s()).invites.revoke(id, now),
      revokeByInviter: async (inviter, now) => await (await s()).invites.revokeByInviter(inviter, now),
      countByInviter: async (inviter, since) => await (await s()).invites.countByInviter(inviter, since)
    },
    decisions: {
      addMany: async (ds) => { await (await s()).decisions.addMany(ds) },
      list: async (q) => await (await s()).decisions.list(q),
      summary: async (since, now) => await (await s()).decisions.summary(since, now),
      sweep: async (before) => await (await s()).decisions.sweep(before),
      trim: async (maxRows, atMost) => await (await s()).decisions.trim(maxRows, atMost)
    },
    sessions: {
      put: async (session) => { await (await s()).sessions.put(session) },
      get: async (secret, sid, now) => await (await s()).sessions.get(secret, sid, now)
    },
    rateLimits: { hit: async (key, windowMs, now) => await (await s()).rateLimits.hit(key, windowMs, now) },
    txns: {
      claim: async (keys, claim, now, ttlMs) => await (await s()).txns.claim(keys, claim, now, ttlMs),
      finish: async (keys, claim) => await (await s()).txns.finish(keys, claim),
      release: async (keys, claim) => { await (await s()).txns.release(keys, claim) }
    },
    uia: {
      note: async (session, what, expiresAt, now) => { await (await s()).uia.note(session, what, expiresAt, now) },
      get: async (session, now) => await (await s()).uia.get(session, now)
    },
    registrations: {
      put: async (r) => { await (await s()).registrations.put(r) },
      get: async (userId) => await (await s()).registrations.get(userId)
    },
    accessRequests: deferredAccessRequests(async () => (await s()).accessRequests),
    sweep: async (now, horizon) => await (await s()).sweep(now, horizon),
    ping: async () => { await (await s()).ping() },
    secret: async (name, make) => await (await s()).secret(name, make),
    async close () {
      // kysely closes the connection with its own; never loaded (or failed to), it is closed here
      const parts = await loaded()?.catch(() => undefined)
      if (parts !== undefined) await parts.store.close()
      else sqlite.close()
    }
  }
}

export async function openSqlite (url: string): Promise<Store> {
  const file = sqlitePath(url)
  mkdirSync(dirname(file), { recursive: true })
  const sqlite = new BetterSqlite3(file)
  let parts: Promise<KyselyParts> | undefined
  const load = async (): Promise<KyselyParts> => {
    // a failed load is tried again by the next call
    parts ??= import('./sqlite-kysely.js').then(({ kyselyParts }) => kyselyParts(sqlite)).catch((err: unknown) => { parts = undefined; throw err })
    return await parts
  }
  try {
    // WAL + FULL: a commit is on disk when the statement returns, so kill -9 loses nothing
    // committed; busy_timeout lets the CLI and a running server share the file
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = FULL')
    sqlite.pragma('busy_timeout = 5000')
    if (!atLatestMigration(sqlite)) await (await load()).migrate()
    const store = onFirstCall(sqlite, load, () => parts)
    // for tests: whether this store has loaded kysely
    Object.defineProperty(store, 'kyselyLoaded', { value: () => parts !== undefined })
    prepareHotPaths(sqlite, store)
    prepareIdleCalls(sqlite, store)
    store.inviteFeed = sqliteFeed(sqlite, async (now) => await (await load()).pendingKeys(now))
    return store
  } catch (err) {
    sqlite.close()
    throw err
  }
}
