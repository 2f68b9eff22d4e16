// Regenerates the generated reference tables in docs/ from the code (the file keeps its old name:
// the tables used to be in the README):
//   node scripts/readme-tables.mjs --write   (after npm run build)
//   docs/configuration.md  <!-- config-table -->  every key of src/config/schema.ts
//   docs/errors.md         <!-- error-table -->   every Matrix error of src/errors.ts
// test/docs/readme-drift.test.ts fails when either file differs from this output.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { envName, leaves } from '../dist/src/config/schema.js'
import { MATRIX_ERRORS } from '../dist/src/errors.js'

export function configTable () {
  const rows = ['| key | default | environment | meaning |', '|---|---|---|---|']
  for (const [path, leaf] of leaves()) {
    const def = leaf.sensitive ? '(empty)' : JSON.stringify(leaf.default)
    const env = leaf.sampleCommented ? '—' : '`' + envName(path) + '`'
    rows.push(`| \`${path}\` | \`${def}\` | ${env} | ${leaf.doc.replace(/\|/g, '\\|')} |`)
  }
  return rows.join('\n')
}

export function errorTable () {
  const rows = ['| name | status | errcode | error (default wording) |', '|---|---|---|---|']
  for (const [name, e] of Object.entries(MATRIX_ERRORS)) rows.push(`| ${name} | ${e.status} | \`${e.errcode}\` | ${e.error} |`)
  return rows.join('\n')
}

/** Which table goes into which file, by marker name. */
export const TABLES = [
  { file: 'docs/configuration.md', name: 'config-table', table: configTable },
  { file: 'docs/errors.md', name: 'error-table', table: errorTable }
]

/** The text with the table between its markers replaced by a fresh one. */
export function render (text, name, table) {
  const re = new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`)
  if (!re.test(text)) throw new Error(`no ${name} markers`)
  return text.replace(re, (_m, a, b) => `${a}\n${table}\n${b}`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { file, name, table } of TABLES) {
    const url = new URL(`../${file}`, import.meta.url)
    const text = readFileSync(url, 'utf8')
    const next = render(text, name, table())
    if (process.argv.includes('--write')) {
      if (next !== text) { writeFileSync(url, next); process.stdout.write(`${file}: rewritten\n`) }
    } else if (next !== text) {
      process.stdout.write(`${file}: stale\n`)
      process.exitCode = 1
    }
  }
}
