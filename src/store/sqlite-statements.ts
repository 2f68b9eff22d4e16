import type BetterSqlite3 from 'better-sqlite3'
import type { Selectable } from 'kysely'
import type { Medium } from '../synapse/canonical.js'
import { toInvite, toSession } from './rows.js'
import type { InvitesTable, SessionsTable } from './schema.js'
import { inviteKey, type InviteFeed, type InviteWatch, type NewDecision, type Store, type TokenSession } from './store.js'

// The store calls on request paths, on SQLite, as better-sqlite3 statements prepared once at
// open: kysely builds, compiles and prepares each query again on every call, which cost ~60-70
// us a call against a few us for a prepared statement (bench/RESULTS.md), on the event loop.
// kysely keeps everything else, and PostgreSQL. Every call checks for an open kysely
// transaction (invites.addMany holds one across awaits): a statement run meanwhile would be inside
// it, reading rows that may yet be rolled back or writing rows that would be rolled back with it;
// such a call waits its turn in kysely instead.
// The calls a server makes with no request at all (start-up, timers, health checks) are
// statements too, so that kysely (~400 ES modules) is loaded only by the first call that needs
// it (src/store/sqlite.ts).

/** How long sessions wait to be committed together */
export const SESSION_BATCH_MS = 2

type OutsideTransactions = <A extends unknown[], R>(prepared: (...a: A) => R, kysely: (...a: A) => Promise<R>) => (...a: A) => Promise<R>

function outsideTransactionsOf (sqlite: BetterSqlite3.Database): OutsideTransactions {
  return (prepared, kysely) => async (...a) => sqlite.inTransaction ? await kysely(...a) : prepared(...a)
}

/** Replaces the hot calls of `store` (built by kyselyStore on `sqlite`) with prepared statements. */
export function prepareHotPaths (sqlite: BetterSqlite3.Database, store: Store): void {
  const outsideTransactions = outsideTransactionsOf(sqlite)

  // Sessions and the decision history are committed with synchronous = NORMAL: in WAL mode that
  // survives a crash of regguard (kill -9), not a power cut, and costs no fsync (~20 us a commit
  // against ~370 us). A session lost to a power cut only makes its user ask for a new token (the
  // homeserver's token stays unusable here); history is history. Invites and the secrets keep
  // the connection's FULL. The level can only change outside a transaction, and nothing but
  // this synchronous code runs between the change and its undoing, so nothing else commits under it.
  // (SQLite applies this pragma when it is prepared, not when it runs: never a prepared statement)
  const lightly = (write: () => void): void => {
    sqlite.pragma('synchronous = NORMAL')
    try { write() } finally { sqlite.pragma('synchronous = FULL') }
  }
  // for tests: the safety level now, as the connection has it (2: FULL)
  Object.defineProperty(store, 'sqliteLevel', { value: () => sqlite.pragma('synchronous', { simple: true }) as number })

  const pending = sqlite.prepare<[string, string, number], Selectable<InvitesTable>>(
    'SELECT * FROM regguard_invites WHERE medium = ? AND address = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY id DESC LIMIT 1'
  )
  store.invites.findPending = outsideTransactions((medium, address, now) => {
    const row = pending.get(medium, address, now)
    return row === undefined ? null : toInvite(row)
  }, store.invites.findPending)

  const session = sqlite.prepare<[string, string, number], Selectable<SessionsTable>>(
    'SELECT * FROM regguard_sessions WHERE client_secret = ? AND sid = ? AND expires_at > ?'
  )
  store.sessions.get = outsideTransactions((clientSecret, sid, now) => {
    const row = session.get(clientSecret, sid, now)
    return row === undefined ? null : toSession(row)
  }, store.sessions.get)

  const putSession = sqlite.prepare<[Selectable<SessionsTable>]>(
    'INSERT INTO regguard_sessions (client_secret, sid, medium, address, endpoint, created_at, expires_at) ' +
    'VALUES (@client_secret, @sid, @medium, @address, @endpoint, @created_at, @expires_at) ' +
    'ON CONFLICT (client_secret, sid) DO UPDATE SET medium = excluded.medium, address = excluded.address, ' +
    'endpoint = excluded.endpoint, created_at = excluded.created_at, expires_at = excluded.expires_at'
  )
  const putSessions = sqlite.transaction((rows: Array<Selectable<SessionsTable>>) => {
    for (const r of rows) putSession.run(r)
  })
  // Every allowed requestToken records a session, after its answer went out: they are gathered
  // for SESSION_BATCH_MS and committed together, lightly (each commit costs two pragmas and a
  // transaction, ~40 us). A lookup writes what is waiting first, so /register always finds a
  // session recorded before it; other processes see it after at most SESSION_BATCH_MS.
  let waiting: Array<{ session: TokenSession, row: Selectable<SessionsTable>, done: (err?: unknown) => void }> = []
  const writeWaiting = (): void => {
    const batch = waiting
    waiting = []
    if (batch.length === 0) return
    if (sqlite.inTransaction) {
      for (const w of batch) kyselyPut(w.session).then(() => { w.done() }, w.done)
      return
    }
    let failure: unknown
    try { lightly(() => putSessions(batch.map((w) => w.row))) } catch (err) { failure = err ?? new Error('session write failed') }
    for (const w of batch) w.done(failure)
  }
  const kyselyPut = store.sessions.put
  store.sessions.put = async (s: TokenSession) => {
    await new Promise<void>((resolve, reject) => {
      waiting.push({ session: s, row: { ...s, created_at: Date.now() }, done: (err) => { if (err === undefined) resolve(); else reject(err) } })
      if (waiting.length === 1) setTimeout(writeWaiting, SESSION_BATCH_MS)
    })
  }
  const getSession = store.sessions.get
  store.sessions.get = async (clientSecret, sid, now) => {
    writeWaiting()
    return await getSession(clientSecret, sid, now)
  }
  const close = store.close
  store.close = async () => {
    writeWaiting()
    await close()
  }

  const insertDecision = sqlite.prepare<[number, string, string, string, string, string, string, string | null, string | null, number]>(
    'INSERT INTO regguard_decisions (at, endpoint, medium, result, rule, detail, client_ip, address, domain, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
  )
  // one transaction, one commit (and one sync) for the whole batch
  const insertDecisions = sqlite.transaction((rows: NewDecision[]) => {
    for (const d of rows) insertDecision.run(d.at, d.endpoint, d.medium, d.result, d.rule, d.detail, d.client_ip, d.address, d.domain, d.count ?? 1)
  })
  store.decisions.addMany = outsideTransactions((rows: NewDecision[]) => { lightly(() => insertDecisions(rows)) }, store.decisions.addMany)

  // audit.max_rows after every batch, as decisions-store.ts does it, without loading kysely
  const decisionIds = sqlite.prepare<[], { oldest: number | null, newest: number | null }>('SELECT min(id) AS oldest, max(id) AS newest FROM regguard_decisions')
  const countUpTo = sqlite.prepare<[number], number | null>('SELECT sum(count) FROM regguard_decisions WHERE id <= ?').pluck()
  const deleteUpTo = sqlite.prepare<[number]>('DELETE FROM regguard_decisions WHERE id <= ?')
  const trimDecisions = sqlite.transaction((maxRows: number, atMost: number): { rows: number, decisions: number } => {
    const { oldest, newest } = decisionIds.get() ?? { oldest: null, newest: null }
    if (oldest === null || newest === null) return { rows: 0, decisions: 0 }
    const cutoff = Math.min(newest - maxRows, oldest + atMost - 1)
    if (cutoff < oldest) return { rows: 0, decisions: 0 }
    const decisions = countUpTo.get(cutoff) ?? 0
    return { rows: deleteUpTo.run(cutoff).changes, decisions }
  })
  store.decisions.trim = outsideTransactions((maxRows: number, atMost: number) => {
    let n = { rows: 0, decisions: 0 }
    lightly(() => { n = trimDecisions(maxRows, atMost) })
    return n
  }, store.decisions.trim)
}

/** Replaces the calls of `store` that an idle server makes (start-up, timers, health checks). */
export function prepareIdleCalls (sqlite: BetterSqlite3.Database, store: Store): void {
  const outsideTransactions = outsideTransactionsOf(sqlite)

  const getSecret = sqlite.prepare<[string], string>('SELECT value FROM regguard_secrets WHERE name = ?').pluck()
  const putSecret = sqlite.prepare<[string, string, number]>('INSERT INTO regguard_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING')
  store.secret = outsideTransactions((name: string, make: () => string) => {
    const found = getSecret.get(name)
    if (found !== undefined) return found
    // another process's first insert may win; everyone then reads the winner's value
    putSecret.run(name, make(), Date.now())
    const value = getSecret.get(name)
    if (value === undefined) throw new Error(`secret ${name} could not be stored`)
    return value
  }, store.secret)

  const one = sqlite.prepare('SELECT 1')
  store.ping = outsideTransactions(() => { one.get() }, store.ping)

  const sweepSessions = sqlite.prepare<[number]>('DELETE FROM regguard_sessions WHERE expires_at <= ?')
  const sweepRateLimits = sqlite.prepare<[number]>('DELETE FROM regguard_rate_limits WHERE window_start < ?')
  const sweepTxns = sqlite.prepare<[number]>('DELETE FROM regguard_txns WHERE expires_at <= ?')
  store.sweep = outsideTransactions((now: number, rateLimitHorizonMs: number) => ({
    sessions: sweepSessions.run(now).changes,
    rateLimits: sweepRateLimits.run(now - rateLimitHorizonMs).changes,
    txns: sweepTxns.run(now).changes
  }), store.sweep)

  const sweepDecisions = sqlite.prepare<[number]>('DELETE FROM regguard_decisions WHERE at < ?')
  store.decisions.sweep = outsideTransactions((before: number) => sweepDecisions.run(before).changes, store.decisions.sweep)
}

/**
 * How old a reading of `PRAGMA data_version` may be: a reading is a read transaction on the WAL
 * (locks on the shared-memory index), ~10 us in the server, a sixth of a whole denial when done
 * for each one (bench/RESULTS.md); once per 5 ms it costs nothing, and an invite written by
 * another process allows 5 ms after its commit at the latest.
 */
export const DATA_VERSION_MAX_AGE_MS = 5

/**
 * The invite index's feed on SQLite. The CLI writes the file from another process. `PRAGMA
 * data_version` changes when another connection commits (not for this connection's own writes,
 * which the index notes itself), so a lookup compares it and never trusts an index older than
 * the file was DATA_VERSION_MAX_AGE_MS ago. `kyselyPendingKeys` reads inside kysely's
 * transactions (see above).
 */
export function sqliteFeed (sqlite: BetterSqlite3.Database, kyselyPendingKeys: (now: number) => Promise<string[]>): InviteFeed {
  const pending = sqlite.prepare<[number], { medium: string, address: string }>(
    'SELECT DISTINCT medium, address FROM regguard_invites WHERE revoked_at IS NULL AND expires_at > ?'
  )
  const dataVersion = sqlite.prepare('PRAGMA data_version').pluck()
  let version = 0
  let readAt = -Infinity
  return {
    pendingKeys: outsideTransactionsOf(sqlite)((now: number) => pending.all(now).map((r) => inviteKey(r.medium as Medium, r.address)), kyselyPendingKeys),
    watch: (): InviteWatch => ({
      version: () => {
        const now = performance.now()
        if (now - readAt >= DATA_VERSION_MAX_AGE_MS) {
          version = dataVersion.get() as number
          readAt = now
        }
        return version
      },
      check: async () => true,
      close: async () => {}
    })
  }
}
