import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { freePort } from '../helpers/net.js'
import { Agent, request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { asInstalled, CLI } from '../helpers/cli-path.js'

// The real command, as systemd runs it: SIGTERM stops accepting connections, lets requests in
// flight finish, and exits 0.

t.setTimeout(170_000)

const ROOT = new URL('../../', import.meta.url).pathname

function newestMtime (dir: string): number {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs)
  }
  return newest
}

/** dist/ as `npm run build` makes it, rebuilt when src/ is newer. */
function ensureBuilt (): void {
  let built = 0
  try { built = statSync(CLI).mtimeMs } catch {}
  if (built < newestMtime(join(ROOT, 'src'))) execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit', timeout: 120_000 })
}

interface Running {
  child: ChildProcess
  port: number
  adminPort: number
  output: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

async function runCli (t: { teardown: (fn: () => unknown) => void }, homeserverUrl: string, extra = ''): Promise<Running> {
  const port = await freePort()
  const adminPort = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'regguard-shutdown-'))
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, [
    'server:',
    '  host: 127.0.0.1',
    `  port: ${port}`,
    extra,
    'admin:',
    '  host: 127.0.0.1',
    `  port: ${adminPort}`,
    'homeserver:',
    `  url: ${homeserverUrl}`,
    'register:',
    '  policy:',
    '    allowed: true',
    ''
  ].filter((l) => l !== '').join('\n'))
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGGUARD_')))
  const child = spawn(process.execPath, [...asInstalled(), '--config', file], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { out += c.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const deadline = Date.now() + 20_000
  while (!out.includes('regguard listening')) {
    if (child.exitCode !== null) throw new Error(`regguard exited ${child.exitCode}: ${out}`)
    if (Date.now() > deadline) throw new Error(`regguard did not start: ${out}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { child, port, adminPort, output: () => out, exited }
}

function refused (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
  })
}

async function waitFor (cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

ensureBuilt()

t.test('GET /health on the admin listener', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await runCli(t, hs.url)
  const res = await request(`http://127.0.0.1:${rg.adminPort}/health`)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(await res.body.json(), { status: 'ok' })
  // the proxy listener does not answer it: it is forwarded like any other path
  const viaProxy = await request(`http://127.0.0.1:${rg.port}/health`)
  await viaProxy.body.text()
  t.equal(hs.receivedMatching('/health').length, 1)
  rg.child.kill('SIGTERM')
  t.same(await rg.exited, { code: 0, signal: null })
})

t.test('SIGTERM: the request in flight completes, new connections are refused, exit 0', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond((r) => r.url.includes('slow')
    ? { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"slow":"done"}', delayMs: 1000 }
    : { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"fast":true}' })
  const rg = await runCli(t, hs.url)
  const agent = new Agent({ keepAliveTimeout: 60_000 })
  t.teardown(() => agent.close())

  // an idle keep-alive connection must not keep the process from exiting
  const idle = await request(`http://127.0.0.1:${rg.port}/_matrix/client/versions`, { dispatcher: agent })
  t.equal(idle.statusCode, 200)
  await idle.body.text()

  const slow = request(`http://127.0.0.1:${rg.port}/_matrix/client/v3/slow`, { dispatcher: new Agent() })
  await waitFor(() => hs.receivedMatching('/slow').length === 1, 10_000)
  const signalled = Date.now()
  rg.child.kill('SIGTERM')

  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(await refused(rg.port), true, 'no new connections while draining')

  const res = await slow
  t.equal(res.statusCode, 200, 'the request in flight completed')
  t.same(await res.body.json(), { slow: 'done' })

  const exit = await rg.exited
  t.same(exit, { code: 0, signal: null }, 'exit 0')
  t.ok(Date.now() - signalled < 10_000, 'exited soon after the last request, idle connection or not')
  t.equal(await refused(rg.port), true, 'refused after exit')
  t.equal(await refused(rg.adminPort), true, 'admin listener closed too')
})

t.test('SIGTERM with a request slower than server.shutdown_timeout_ms: exits anyway, exit 0', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond(() => ({ status: 200, body: 'too late', delayMs: 20_000 }))
  const rg = await runCli(t, hs.url, '  shutdown_timeout_ms: 500')
  const stuck = request(`http://127.0.0.1:${rg.port}/_matrix/client/v3/stuck`, { dispatcher: new Agent() })
    .then(async (r) => { await r.body.text(); return 'answered' }, () => 'cut')
  await waitFor(() => hs.receivedMatching('/stuck').length === 1, 10_000)
  const signalled = Date.now()
  rg.child.kill('SIGTERM')
  const exit = await rg.exited
  t.same(exit, { code: 0, signal: null })
  t.ok(Date.now() - signalled < 10_000, `exited ${Date.now() - signalled} ms after SIGTERM, not after the homeserver's 20 s`)
  t.equal(await stuck, 'cut', 'the request left unfinished was cut, not answered')
})
