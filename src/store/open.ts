import type { PostgresOptions } from './postgres.js'
import { StoreOpenError, type Store } from './store.js'
import { redactStorageUrl, storageKind } from './url.js'

export { redactStorageUrl, storageKind }

/** Opens the store named by storage.url and brings its schema up to date. */
export async function openStore (url: string, opts: PostgresOptions = {}): Promise<Store> {
  const kind = storageKind(url)
  try {
    // each driver loaded only when configured: pg (or better-sqlite3) costs memory and start-up
    // time an instance on the other backend never needs
    if (kind === 'sqlite') return await (await import('./sqlite.js')).openSqlite(url)
    if (kind === 'postgres') return await (await import('./postgres.js')).openPostgres(url, opts)
    throw new Error('must start with sqlite:// or postgres://')
  } catch (err) {
    const e = err as Error & { code?: string }
    const reason = e.message !== '' ? e.message : e.code ?? String(err)
    throw new StoreOpenError(`cannot open the store at storage.url ${redactStorageUrl(url)}: ${reason}`)
  }
}
