// Regenerates the README's generated tables (configuration keys, Matrix errors) from the code:
//   node scripts/readme-tables.mjs --write   (after npm run build)
// test/docs/readme-drift.test.ts fails when README.md differs from this output.
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

export function render (readme) {
  const put = (text, name, table) => {
    const re = new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`)
    if (!re.test(text)) throw new Error(`README.md has no ${name} markers`)
    return text.replace(re, (_m, a, b) => `${a}\n${table}\n${b}`)
  }
  return put(put(readme, 'config-table', configTable()), 'error-table', errorTable())
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = new URL('../README.md', import.meta.url)
  const next = render(readFileSync(path, 'utf8'))
  if (process.argv.includes('--write')) writeFileSync(path, next)
  else process.stdout.write(next)
}
