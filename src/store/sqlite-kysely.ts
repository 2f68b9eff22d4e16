import type BetterSqlite3 from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { pendingKeys } from './invite-feed.js'
import { kyselyStore, migrate } from './kysely-store.js'
import type { Database } from './schema.js'
import type { Store } from './store.js'

// kysely on a SQLite connection: imported by src/store/sqlite.ts on the first call that needs it.

export interface KyselyParts {
  store: Store
  pendingKeys: (now: number) => Promise<string[]>
  migrate: () => Promise<void>
}

export function kyselyParts (sqlite: BetterSqlite3.Database): KyselyParts {
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
  return {
    store: kyselyStore(db, 'sqlite'),
    pendingKeys: async (now) => await pendingKeys(db, now),
    migrate: async () => { await migrate(db, 'sqlite') }
  }
}
