import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import t from 'tap'
import { CLI } from '../helpers/cli-path.js'
import { freePort } from '../helpers/cli-process.js'

// The built command (dist/src/cli.js, package.json's bin) as the kernel starts it: through its
// shebang, with node found on PATH, no V8 flags and nothing else before regguard's own code.

t.setTimeout(60_000)

// node on PATH as an operator's would be, without the test runner's NODE_OPTIONS (its --import)
const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` }
  delete e.NODE_OPTIONS
  return e
}

t.test('its first line is exactly `#!/usr/bin/env node` and the file is executable', async (t) => {
  t.equal(readFileSync(CLI, 'utf8').split('\n')[0], '#!/usr/bin/env node')
  t.equal(statSync(CLI).mode & 0o111, 0o111, 'executable (mode a+x; root would pass an access() check on any x bit)')
})

t.test('started through its shebang, --help prints the usage and exits 0', async (t) => {
  const r = spawnSync(CLI, ['--help'], { encoding: 'utf8', timeout: 30_000, env: env() })
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /^usage:\n {2}regguard \[serve\] --config FILE/)
  t.equal(r.stderr, '')
})

t.test('an unknown command: one line and the hint on stderr, exit 2', async (t) => {
  const r = spawnSync(CLI, ['no-such-command'], { encoding: 'utf8', timeout: 30_000, env: env() })
  t.equal(r.status, 2)
  t.equal(r.stderr, 'regguard: unknown command no-such-command\nsee: regguard help\n')
})

t.test('on a Node.js older than 22 it refuses before loading anything, exit 1', async (t) => {
  // Debian 12's own node (20) is the case this guards: better-sqlite3 13 crashes on it
  const old = '/usr/bin/node'
  const v = spawnSync(old, ['--version'], { encoding: 'utf8' })
  if (v.status !== 0 || Number(/^v(\d+)/.exec(v.stdout)?.[1]) >= 22) { t.skip(`no Node.js < 22 at ${old}`); return }
  for (const args of [['serve', '--config', '/nonexistent.yaml'], ['--version']]) {
    const r = spawnSync(old, [CLI, ...args], { encoding: 'utf8', timeout: 30_000, env: env() })
    t.equal(r.status, 1, args.join(' '))
    t.match(r.stderr, `regguard needs Node.js 22 or later (this is ${v.stdout.trim().slice(1)}`)
    t.match(r.stderr, /install-node\.sh|nodejs\.org/, 'says where to get one')
    t.equal(r.stdout, '')
  }
})

t.test('serve started through its shebang runs as `node FILE ARGS`, with no flags, and listens', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'regguard-entry-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, [
    `server: { host: 127.0.0.1, port: ${await freePort()} }`,
    `admin: { host: 127.0.0.1, port: ${await freePort()} }`,
    'homeserver: { url: "http://127.0.0.1:9" }',
    `storage: { url: "sqlite://${join(dir, 'rg.sqlite')}" }`
  ].join('\n') + '\n')
  const child = spawn(CLI, ['--config', file], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  let out = ''
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`not listening within 30 s: ${out.slice(0, 2000)} ${err.slice(0, 2000)}`)) }, 30_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('"msg":"regguard listening"')) { clearTimeout(timer); resolve() }
    })
  })
  // env(1) has exec'd node in the same process: its command line is node's, as the shebang made it
  const cmdline = readFileSync(`/proc/${child.pid as number}/cmdline`, 'utf8').split('\0').filter((a) => a !== '')
  t.same(cmdline.slice(1), [CLI, '--config', file], 'node started with the file and its arguments only')
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'SIGTERM: exit 0')
  t.equal(err, '', 'nothing on stderr')
})
