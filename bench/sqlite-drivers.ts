import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'

// node dist/bench/sqlite-drivers.js: the two SQLite drivers that run on Node 22, 24 and 26,
// side by side in one process, on regguard's own statements and pragmas (WAL, synchronous=FULL):
// better-sqlite3 13 and the built-in node:sqlite. Prints microseconds per operation.

interface Driver {
  name: string
  exec: (sql: string) => void
  prepare: (sql: string) => { run: (...a: unknown[]) => unknown, get: (...a: unknown[]) => unknown }
  close: () => void
}

const SCHEMA = `CREATE TABLE invites (id INTEGER PRIMARY KEY AUTOINCREMENT, medium TEXT NOT NULL, address TEXT NOT NULL,
  room_id TEXT, source TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked_at BIGINT);
  CREATE INDEX invites_by_address ON invites (medium, address, id);`

function better (file: string): Driver {
  const db = new BetterSqlite3(file)
  return { name: 'better-sqlite3 13', exec: (s) => db.exec(s), prepare: (s) => db.prepare(s) as never, close: () => db.close() }
}

function builtin (file: string): Driver | null {
  let mod: { DatabaseSync: new (f: string) => { exec: (s: string) => void, prepare: (s: string) => never, close: () => void } }
  try {
    // Node 22 before 22.13 needs --experimental-sqlite: then it is reported as unavailable
    mod = createRequire(import.meta.url)('node:sqlite')
  } catch {
    return null
  }
  const db = new mod.DatabaseSync(file)
  return { name: 'node:sqlite', exec: (s) => db.exec(s), prepare: (s) => db.prepare(s), close: () => db.close() }
}

function time (n: number, fn: (i: number) => void): number {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn(i)
  return Number(process.hrtime.bigint() - t0) / 1000 / n
}

const dir = mkdtempSync(join(tmpdir(), 'regguard-sqlite-bench-'))
const rows: string[][] = []
for (const make of [better, builtin]) {
  const d = make(join(dir, `${make.name}.sqlite`))
  if (d === null) { rows.push(['node:sqlite', 'unavailable on this Node', '', '']); continue }
  d.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;')
  d.exec(SCHEMA)
  const insert = d.prepare('INSERT INTO invites (medium, address, room_id, source, created_at, expires_at, revoked_at) VALUES (?, ?, NULL, ?, ?, ?, NULL)')
  const find = d.prepare('SELECT * FROM invites WHERE medium = ? AND address = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY id DESC LIMIT 1')
  const now = Date.now()
  const ins = time(2000, (i) => insert.run('email', `u${i}@example.org`, 'admin', now, now + 1e9))
  time(2000, (i) => find.get('email', `u${i}@example.org`, now))
  const hit = time(50000, (i) => find.get('email', `u${i % 2000}@example.org`, now))
  const miss = time(50000, (i) => find.get('email', `nobody${i}@example.org`, now))
  rows.push([d.name, ins.toFixed(1), hit.toFixed(2), miss.toFixed(2)])
  d.close()
}
rmSync(dir, { recursive: true, force: true })
console.log(`Node ${process.version}: microseconds per operation (lower is better)\n`)
console.log('| driver | insert (fsync, WAL) | pending invite found | not found |\n|---|---|---|---|')
for (const r of rows) console.log(`| ${r.join(' | ')} |`)
