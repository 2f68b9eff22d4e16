// The test command (npm test): runs tap over test/, streams its TAP output, and ends with the
// plain summary line CI reads: "N passed, N failed" (leaf test points, i.e. assertions).
import { spawn, spawnSync } from 'node:child_process'
import { Parser } from 'tap-parser'

// tap builds its plugin set (package.json "tap.plugin": tsx instead of its ts-node plugin) on
// the first run of a fresh install, but that run still starts every file with the old loaders:
// build first, so every run loads TypeScript the same, fast way
const built = spawnSync('npx', ['tap', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] })
if (built.status !== 0) process.exit(built.status ?? 1)

const args = ['tap', 'run', '--reporter=tap', '--disable-coverage', '--timeout=180', ...process.argv.slice(2)]
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'] })
let passed = 0
let failed = 0
const failures = []
function watch (parser, name) {
  parser.on('assert', (res) => {
    if (res.skip || res.todo) return
    // a test point with a subtest is a summary of its children, which are counted themselves
    if (res.buffered || res.name?.startsWith('Subtest:')) return
    if (res.ok) passed++
    else { failed++; failures.push(`${name} > ${res.name}`) }
  })
  parser.on('child', (c) => watch(c, name ? `${name} > ${c.name ?? ''}` : c.name ?? ''))
}
const parser = new Parser()
let sawChildren = 0
parser.on('child', () => { sawChildren++ })
watch(parser, '')
child.stdout.on('data', (d) => { process.stdout.write(d); parser.write(d) })
child.on('close', (code) => {
  parser.end()
  if (code !== 0 && failed === 0) { failed = 1; failures.push(`tap exited with code ${code}`) }
  if (failures.length > 0) process.stdout.write('\nFailures:\n' + failures.map((f) => `  - ${f}`).join('\n') + '\n')
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
  process.exit(code === 0 && failed === 0 ? 0 : 1)
})
