import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { openStore } from '../../src/store/open.js'
import type { Store } from '../../src/store/store.js'

// Real stores for tests: a SQLite file in a fresh temp directory, or a fresh schema in the
// PostgreSQL database `test` on 127.0.0.1:5432. Each is removed on teardown, so tests run in
// parallel without seeing each other's rows.

export type Backend = 'sqlite' | 'postgres'
export const BACKENDS: Backend[] = ['sqlite', 'postgres']

export const PG_URL = process.env.REGGUARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

interface Teardown { teardown: (fn: () => unknown) => void }

export function tempDir (t: Teardown, prefix = 'regguard-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export async function dropSchema (schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}

/** A storage.url nobody else uses; whatever it creates is removed on teardown. */
export function storageUrl (t: Teardown, backend: Backend): string {
  if (backend === 'sqlite') return `sqlite://${join(tempDir(t), 'regguard.sqlite')}`
  const schema = `rg_test_${process.pid}_${randomBytes(4).toString('hex')}`
  t.teardown(() => dropSchema(schema))
  return `${PG_URL}?schema=${schema}`
}

export async function openTestStore (t: Teardown, backend: Backend, url = storageUrl(t, backend)): Promise<Store> {
  const store = await openStore(url)
  t.teardown(() => store.close())
  return store
}
