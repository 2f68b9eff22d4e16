import { openPostgres, type PostgresOptions } from './postgres.js'
import { openSqlite } from './sqlite.js'
import { StoreOpenError, type Store } from './store.js'
import { redactStorageUrl, storageKind } from './url.js'

export { redactStorageUrl, storageKind }

/** Opens the store named by storage.url and brings its schema up to date. */
export async function openStore (url: string, opts: PostgresOptions = {}): Promise<Store> {
  const kind = storageKind(url)
  try {
    if (kind === 'sqlite') return await openSqlite(url)
    if (kind === 'postgres') return await openPostgres(url, opts)
    throw new Error('must start with sqlite:// or postgres://')
  } catch (err) {
    const e = err as Error & { code?: string }
    const reason = e.message !== '' ? e.message : e.code ?? String(err)
    throw new StoreOpenError(`cannot open the store at storage.url ${redactStorageUrl(url)}: ${reason}`)
  }
}
