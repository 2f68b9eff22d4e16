import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { Agent, request } from 'undici'
import { asInstalled } from '../../src/cli/as-installed.js'
import { bareNode, freePort, runCli, type CliProcess } from '../helpers/cli-process.js'

// src/cli.ts, the real command: Maglev and TurboFan are off through start-up (idle RSS) and on
// again once `serve` listens; an operator's own compiler flags are left alone. V8's --trace-opt
// prints a line for every function an optimizing compiler finishes; the counts are read once the
// process has exited (so V8's buffered output is complete). Run without the test runner's
// NODE_OPTIONS: its --import would run (and optimize) code before regguard's first line. The
// command is started as the kernel starts it (its shebang's flags, then the test's).

t.setTimeout(120_000)

const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const optimized = (text: string, target = '(MAGLEV|TURBOFAN)'): number =>
  text.split('\n').filter((l) => new RegExp(`completed compiling .*target ${target}`).test(l)).length
const output = (cli: CliProcess): string => cli.logs.map((l) => typeof l.raw === 'string' ? l.raw : '').join('\n')

async function serve (t: Tap.Test, nodeArgs: string[], plainNode = false): Promise<{ cli: CliProcess, port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'regguard-entry-'))
  const [port, adminPort] = [await freePort(), await freePort()]
  const file = join(dir, 'regguard.yaml')
  // a denying policy: the load below never needs a homeserver
  writeFileSync(file, [
    `server: { host: 127.0.0.1, port: ${port} }`,
    `admin: { host: 127.0.0.1, port: ${adminPort} }`,
    'homeserver: { url: "http://127.0.0.1:9" }',
    `storage: { url: "sqlite://${join(dir, 'rg.sqlite')}" }`,
    'register: { rate_limit: { enabled: false }, policy: { allowed: false } }'
  ].join('\n') + '\n')
  const cli = runCli(t, ['--config', file], { nodeArgs, bare: true, plainNode })
  await cli.waitForLog((l) => l.msg === 'regguard listening')
  return { cli, port }
}

async function load (port: number, n: number): Promise<void> {
  const agent = new Agent({ connections: 8 })
  const body = JSON.stringify({ client_secret: 'cs', email: 'someone@example.org', send_attempt: 1 })
  for (let i = 0; i < n; i += 16) {
    await Promise.all(Array.from({ length: 16 }, async () => {
      const res = await request(`http://127.0.0.1:${port}${TOKEN}`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent })
      await res.body.dump()
      if (res.statusCode !== 403) throw new Error(`answered ${res.statusCode}`)
    }))
  }
  await agent.close()
}

async function stop (cli: CliProcess): Promise<string> {
  cli.child.kill('SIGTERM')
  await cli.exited
  return output(cli)
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The command copied to where `npm install -g` puts it: node resolves that long path itself */
function globalInstall (t: Tap.Test): string {
  const root = mkdtempSync(join(tmpdir(), 'regguard-entry-'))
  t.teardown(() => { rmSync(root, { recursive: true, force: true }) })
  const pkg = join(root, 'usr', 'lib', 'node_modules', 'matrix-regguard')
  mkdirSync(join(pkg, 'dist'), { recursive: true })
  cpSync(join(ROOT, 'dist', 'regguard'), join(pkg, 'dist', 'regguard'), { recursive: true })
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'))
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'))
  return join(pkg, 'dist', 'regguard', 'cli.js')
}

t.test('a command that never starts (--help), installed globally: nothing optimized', async (t) => {
  const cli = globalInstall(t)
  t.ok(cli.length >= 58, `${cli.length} characters, as long as /usr/lib/node_modules/matrix-regguard/dist/regguard/cli.js`)
  const [command, args] = bareNode([...asInstalled(cli, ['--trace-opt']), '--help'])
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 })
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /regguard/)
  t.equal(optimized(r.stdout), 0, 'no function optimized')
  // why the shebang carries the flags: started without them, node's own resolution of this path
  // comes before the first statement (recorded, not asserted: it is V8's tiering, not regguard's)
  const [plainCommand, plainArgs] = bareNode(['--trace-opt', cli, '--help'])
  const plain = spawnSync(plainCommand, plainArgs, { encoding: 'utf8', timeout: 30_000 })
  t.comment(`as \`node --trace-opt ${cli} --help\`: ${optimized(plain.stdout)} functions optimized`)
})

t.test('the kernel starts the command through its shebang', async (t) => {
  const cli = globalInstall(t)
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` }
  delete env.NODE_OPTIONS
  const r = spawnSync(cli, ['--help'], { encoding: 'utf8', timeout: 30_000, env })
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /regguard/)
})

t.test('serve: nothing optimized up to listening; under load the request path is', async (t) => {
  const idle = await serve(t, ['--trace-opt'])
  // without the hold, about ninety start-up functions are optimized by the time it listens
  t.ok(optimized(await stop(idle.cli)) <= 2, 'at most a stray function optimized between listening and the SIGTERM')
  const busy = await serve(t, ['--trace-opt'])
  await load(busy.port, 4000)
  const text = await stop(busy.cli)
  t.ok(optimized(text, 'MAGLEV') > 10, `Maglev optimized ${optimized(text, 'MAGLEV')} functions under load`)
  t.ok(optimized(text, 'TURBOFAN') > 10, `TurboFan optimized ${optimized(text, 'TURBOFAN')} functions under load`)
})

t.test('an operator\'s --no-maglev is left alone: under load only TurboFan optimizes', async (t) => {
  const { cli, port } = await serve(t, ['--trace-opt', '--no-maglev'])
  await load(port, 4000)
  const text = await stop(cli)
  t.equal(optimized(text, 'MAGLEV'), 0, 'Maglev stayed off')
  t.ok(optimized(text, 'TURBOFAN') > 10, 'TurboFan optimized under load')
})

t.test('an operator\'s `node --no-maglev --no-turbofan cli.js` is left alone: nothing optimizes under load', async (t) => {
  const { cli, port } = await serve(t, ['--trace-opt', '--no-maglev', '--no-turbofan'], true)
  await load(port, 4000)
  t.equal(optimized(await stop(cli)), 0, 'both tiers stayed off')
})
