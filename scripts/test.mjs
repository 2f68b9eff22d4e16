// The test command (npm test): runs tap over test/, streams its TAP output, and ends with the
// plain summary line CI reads: "N passed, N failed" (leaf test points, i.e. assertions).
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Parser } from 'tap-parser'
import { packAndInstall } from './install-packed.mjs'

// tap builds its plugin set (package.json "tap.plugin": tsx instead of its ts-node plugin) on
// the first run of a fresh install, but that run still starts every file with the old loaders:
// build first, so every run loads TypeScript the same, fast way
const built = spawnSync('npx', ['tap', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] })
if (built.status !== 0) process.exit(built.status ?? 1)

// the tests that run the command from this checkout (dist/src/cli.js) need dist/ as the sources
// are now: the package has no prepare script (npm would warn operators about it at install)
const compiled = spawnSync('npm', ['run', 'build', '--silent'], { stdio: ['ignore', 'inherit', 'inherit'] })
if (compiled.status !== 0) process.exit(compiled.status ?? 1)

let passed = 0
let failed = 0
const failures = []

// test/installed/ (and test/e2e/) run the command as operators install it: packed and installed
// once here, into a temporary prefix their tests find in REGGUARD_INSTALLED_PREFIX. Skipped when
// the files asked for leave those folders out. A failed install fails the run (those tests then say so too);
// the rest of the suite still runs.
const picked = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const env = { ...process.env }
let prefix = null
if (picked.length === 0 || picked.some((a) => /(^|\/)test(\/(installed|e2e)\b|\/?$)/.test(a))) {
  prefix = mkdtempSync(join(tmpdir(), 'regguard-installed-run-'))
  env.REGGUARD_INSTALLED_PREFIX = prefix
  const started = Date.now()
  try {
    const bin = packAndInstall(prefix)
    process.stderr.write(`packed and installed ${bin} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
  } catch (err) {
    process.stderr.write(`regguard: packing and installing the package failed: ${err.stack ?? err}\n`)
    failed++
    failures.push('npm pack and npm install -g of this checkout')
  }
}

// Tests that measure latency (a /health answer within 100 ms while hostile DNS answers are read)
// measure regguard's event loop, not the machine: with the rest of the suite running beside them
// on two cores, the scheduler's delays would be counted. They run after it, one at a time.
const ALONE = ['test/dns/hostile-health.test.ts']
const aloneToo = picked.length === 0
const firstArgs = aloneToo ? [...ALONE.map((f) => `--exclude=${f}`), ...process.argv.slice(2)] : process.argv.slice(2)

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

/** One tap run, its TAP streamed and counted; resolves with tap's exit code. */
function tapRun (extra) {
  return new Promise((resolve) => {
    const args = ['tap', 'run', '--reporter=tap', '--disable-coverage', '--timeout=180', ...extra]
    const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'], env })
    const parser = new Parser()
    watch(parser, '')
    child.stdout.on('data', (d) => { process.stdout.write(d); parser.write(d) })
    child.on('close', (code) => {
      parser.end()
      if (code !== 0 && failed === 0) { failed = 1; failures.push(`tap exited with code ${code}`) }
      resolve(code)
    })
  })
}

const codes = [await tapRun(firstArgs)]
if (aloneToo) codes.push(await tapRun(['--jobs=1', ...ALONE]))
if (failures.length > 0) process.stdout.write('\nFailures:\n' + failures.map((f) => `  - ${f}`).join('\n') + '\n')
process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
if (prefix !== null) rmSync(prefix, { recursive: true, force: true })
process.exit(codes.every((c) => c === 0) && failed === 0 ? 0 : 1)
