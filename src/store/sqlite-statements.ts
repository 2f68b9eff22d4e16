import type BetterSqlite3 from 'better-sqlite3'
import type { Selectable } from 'kysely'
import { toInvite, toSession } from './kysely-store.js'
import type { InvitesTable, SessionsTable } from './schema.js'
import type { NewDecision, Store, TokenSession } from './store.js'

// The store calls on request paths, on SQLite, as better-sqlite3 statements prepared once at
// open: kysely builds, compiles and prepares each query again on every call, which cost ~60-70
// us a call against a few us for a prepared statement (bench/RESULTS.md), on the event loop.
// kysely keeps everything else, and PostgreSQL. Every call checks for an open kysely
// transaction (invites.addMany holds one across awaits): a statement run meanwhile would be inside
// it, reading rows that may yet be rolled back or writing rows that would be rolled back with it;
// such a call waits its turn in kysely instead.

/** Replaces the hot calls of `store` (built by kyselyStore on `sqlite`) with prepared statements. */
export function prepareHotPaths (sqlite: BetterSqlite3.Database, store: Store): void {
  const outsideTransactions = <A extends unknown[], R>(prepared: (...a: A) => R, kysely: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => sqlite.inTransaction ? await kysely(...a) : prepared(...a)

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
  store.sessions.put = outsideTransactions((s: TokenSession) => { putSession.run({ ...s, created_at: Date.now() }) }, store.sessions.put)

  const insertDecision = sqlite.prepare<[number, string, string, string, string, string, string, string | null, string | null, number]>(
    'INSERT INTO regguard_decisions (at, endpoint, medium, result, rule, detail, client_ip, address, domain, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
  )
  // one transaction, one commit (and one sync) for the whole batch
  const insertDecisions = sqlite.transaction((rows: NewDecision[]) => {
    for (const d of rows) insertDecision.run(d.at, d.endpoint, d.medium, d.result, d.rule, d.detail, d.client_ip, d.address, d.domain, d.count ?? 1)
  })
  store.decisions.addMany = outsideTransactions((rows: NewDecision[]) => { insertDecisions(rows) }, store.decisions.addMany)
}
