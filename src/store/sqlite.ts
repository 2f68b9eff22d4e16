import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, SqliteDialect, type Selectable } from 'kysely'
import { sqliteFeed } from './invite-feed.js'
import { kyselyStore, migrate, toInvite } from './kysely-store.js'
import type { Database, InvitesTable } from './schema.js'
import type { Store } from './store.js'

/** The file a sqlite:// URL names: "sqlite://./data/x.sqlite" is relative to the working directory. */
export function sqlitePath (url: string, cwd = process.cwd()): string {
  const rest = url.slice('sqlite://'.length)
  if (rest === '') throw new Error('no file name after sqlite://')
  return resolve(cwd, decodeURIComponent(rest))
}

export async function openSqlite (url: string): Promise<Store> {
  const file = sqlitePath(url)
  mkdirSync(dirname(file), { recursive: true })
  const sqlite = new BetterSqlite3(file)
  try {
    // WAL + FULL: a commit is on disk when the statement returns, so kill -9 loses nothing
    // committed; busy_timeout lets the CLI and a running server share the file
    sqlite.pragma('journal_mode = WAL')
    sqlite.pragma('synchronous = FULL')
    sqlite.pragma('busy_timeout = 5000')
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
    await migrate(db, 'sqlite')
    const store = kyselyStore(db, 'sqlite')
    // The invite lookup runs on every denied requestToken: one statement prepared here costs
    // ~4 us, where kysely's query building and async path cost ~70 us (bench/RESULTS.md)
    const pending = sqlite.prepare<[string, string, number], Selectable<InvitesTable>>(
      'SELECT * FROM regguard_invites WHERE medium = ? AND address = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY id DESC LIMIT 1'
    )
    store.invites.findPending = async (medium, address, now) => {
      const row = pending.get(medium, address, now)
      return row === undefined ? null : toInvite(row)
    }
    store.inviteFeed = sqliteFeed(sqlite, db)
    return store
  } catch (err) {
    sqlite.close()
    throw err
  }
}
