import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { sqliteFeed } from './invite-feed.js'
import { kyselyStore, migrate } from './kysely-store.js'
import type { Database } from './schema.js'
import { prepareHotPaths } from './sqlite-statements.js'
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
    prepareHotPaths(sqlite, store)
    store.inviteFeed = sqliteFeed(sqlite, db)
    return store
  } catch (err) {
    sqlite.close()
    throw err
  }
}
