import { readFileSync } from 'node:fs'
import t from 'tap'

// The reference tables in docs/configuration.md (every config key) and docs/errors.md (every
// Matrix error) are generated from the schema and the error table; this fails when either
// drifts. Fix: npm run build && node scripts/readme-tables.mjs --write

interface Table { file: string, name: string, table: () => string }
const read = (file: string): string => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')

t.test('the generated tables in docs/ match the schema and the error table', async (t) => {
  const { TABLES, render } = await import('../../scripts/readme-tables.mjs' as string) as { TABLES: Table[], render: (s: string, name: string, table: string) => string }
  t.equal(TABLES.length, 2)
  for (const { file, name, table } of TABLES) {
    const text = read(file)
    t.equal(text, render(text, name, table()), `${file} is stale: run \`npm run build && node scripts/readme-tables.mjs --write\``)
  }
})

t.test('every Matrix error is in docs/errors.md and every config key in docs/configuration.md', async (t) => {
  const errors = read('docs/errors.md')
  const configuration = read('docs/configuration.md')
  const { MATRIX_ERRORS } = await import('../../src/errors.js')
  const { leaves } = await import('../../src/config/schema.js')
  for (const e of Object.values(MATRIX_ERRORS)) t.match(errors, `\`${e.errcode}\``, e.errcode)
  for (const [path] of leaves()) t.match(configuration, `\`${path}\``, path)
})

t.test('the README is a front door: at most 15 KB, and it links to the reference', async (t) => {
  const readme = read('README.md')
  t.ok(Buffer.byteLength(readme) <= 15 * 1024, `README.md is ${Buffer.byteLength(readme)} bytes`)
  for (const doc of ['docs/configuration.md', 'docs/errors.md', 'docs/security.md', 'docs/admin-api.md', 'docs/cli.md', 'docs/performance.md']) {
    t.match(readme, `(${doc}`, `links ${doc}`)
  }
  t.notMatch(readme, /V8|young generation/, 'no V8 internals')
})

t.test('every relative link in the README and docs/ names a file that exists', async (t) => {
  const { readdirSync, existsSync } = await import('node:fs')
  const files = ['README.md', ...readdirSync(new URL('../../docs/', import.meta.url)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
  for (const file of files) {
    const base = new URL(`../../${file}`, import.meta.url)
    for (const m of read(file).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1] as string
      if (/^[a-z]+:/.test(target)) continue
      t.ok(existsSync(new URL(target, base)), `${file} links ${target}`)
    }
  }
})
