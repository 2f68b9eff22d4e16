import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// The modules regguard loads only when used are loaded through one file each; an ES import of
// them anywhere else would load them at start-up in every instance again (test/server/
// lazy-modules.test.ts sees the CommonJS ones at run time; an ES import is not visible there).

const SRC = fileURLToPath(new URL('../../src', import.meta.url))

function files (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

// module -> the files that may import it with a value import (and why it is cheap there)
const ALLOWED: Record<string, string[]> = {
  pg: ['store/postgres.ts'], // loaded by open.ts only for postgres:// URLs
  ioredis: ['ratelimit/redis-counter.ts'], // loaded by app.ts only when redis_url is set
  // imported by the phone-number code itself: a package is imported, never required (issue 21)
  'libphonenumber-js': ['synapse/msisdn.ts'],
  // SQLite: store/sqlite.ts imports sqlite-kysely.ts on the first call that is not a prepared
  // statement; the others are reached from there or from postgres.ts (loaded by open.ts)
  kysely: ['store/kysely-store.ts', 'store/decisions-store.ts', 'store/invite-feed.ts', 'store/postgres.ts', 'store/sqlite-kysely.ts', 'store/registrations-store.ts', 'store/access-requests-store.ts']
}

t.test('no value import of a lazily loaded module outside the file that loads it', async (t) => {
  for (const file of files(SRC)) {
    const rel = relative(SRC, file)
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/^import\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gm)) {
      const spec = m[1] as string
      const allowed = ALLOWED[spec]
      if (allowed === undefined) continue
      t.ok(allowed.includes(rel), `${rel} imports ${spec}`)
    }
    for (const m of text.matchAll(/(?<!typeof )import\('([^']+)'\)/g)) {
      if (ALLOWED[m[1] as string] !== undefined) t.fail(`${rel} imports ${m[1] as string} dynamically: load it through its one file`)
    }
  }
})

// the store files that import kysely: a value import of one from outside src/store/ would load
// kysely at start-up again (an error class lives in store/page-token.ts for that reason)
const KYSELY_FILES = ['kysely-store.js', 'decisions-store.js', 'invite-feed.js', 'sqlite-kysely.js']

t.test('nothing outside src/store/ loads a kysely store file with a value import', async (t) => {
  let checked = 0
  for (const file of files(SRC)) {
    const rel = relative(SRC, file)
    if (rel.startsWith('store/')) continue
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/^import\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gm)) {
      const spec = m[1] as string
      checked++
      t.notOk(KYSELY_FILES.some((f) => spec.endsWith(`/store/${f}`)), `${rel} imports ${spec}`)
    }
  }
  t.ok(checked > 100, `value imports checked (${checked})`)
})
