import { readFileSync } from 'node:fs'
import t from 'tap'

// The README's configuration and error tables are generated from the schema and the error
// table; this fails when either drifts. Fix: npm run build && node scripts/readme-tables.mjs --write

t.test('README tables match the schema and the error table', async (t) => {
  const { render } = await import('../../scripts/readme-tables.mjs' as string) as { render: (s: string) => string }
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  t.equal(readme, render(readme), 'README.md is stale: run `npm run build && node scripts/readme-tables.mjs --write`')
})

t.test('every Matrix error and every config key appears in the README', async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const { MATRIX_ERRORS } = await import('../../src/errors.js')
  const { leaves } = await import('../../src/config/schema.js')
  for (const e of Object.values(MATRIX_ERRORS)) t.match(readme, `\`${e.errcode}\``, e.errcode)
  for (const [path] of leaves()) t.match(readme, `\`${path}\``, path)
})
