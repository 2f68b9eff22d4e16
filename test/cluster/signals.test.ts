import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { freePort, runCli } from '../helpers/cli-process.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { admin, getFrom, postTo, sample, startCluster, untilBothAnswered } from '../helpers/workers.js'

// server.workers: 2 and signals, on the real process tree: SIGHUP reaches every worker, a worker
// that dies is replaced, SIGTERM lets every worker finish its requests, a worker that cannot
// start stops the whole command.

t.setTimeout(240_000)

const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const token = (email: string): Record<string, unknown> => ({ client_secret: 'cs', email, send_attempt: 1 })
const policy = (allowed: boolean): string[] => ['register:', '  rate_limit: { enabled: false }', `  policy: { allowed: ${allowed} }`]

t.test('SIGHUP reloads every worker; a killed worker is replaced; SIGTERM drains requests in flight', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond((r) => ({ status: 200, body: '{"ok":true}', delayMs: r.url.includes('/slow') ? 1500 : 0 }))
  const c = await startCluster(t, hs.url, policy(true))
  const before = await untilBothAnswered(() => postTo(c, TOKEN, token('a@example.org')), 10)
  t.same(before.map((a) => a.res.status), before.map(() => 200), 'allowed by both workers')

  c.rewrite(policy(false))
  c.cli.child.kill('SIGHUP')
  await c.cli.waitForLog((l) => l.msg === 'configuration reloaded' && l.worker === 1, 30_000)
  await c.cli.waitForLog((l) => l.msg === 'configuration reloaded' && l.worker === 2, 30_000)
  const after = await untilBothAnswered(() => postTo(c, TOKEN, token('a@example.org')), 10)
  t.equal(new Set(after.map((a) => a.worker)).size, 2)
  t.same(after.map((a) => a.res.status), after.map(() => 403), 'the new policy is in force in both workers')

  const victim = before[0]?.pid as number
  process.kill(victim, 'SIGKILL')
  const exited = await c.cli.waitForLog((l) => l.msg === 'worker exited unexpectedly; starting another', 30_000)
  t.equal(exited.worker_pid, victim)
  t.equal(exited.signal, 'SIGKILL')
  const replaced = await c.cli.waitForLog((l) => l.msg === 'worker listening' && l.worker === 3, 60_000)
  t.not(replaced.worker_pid, victim, 'a new process')
  const served = await untilBothAnswered(() => postTo(c, TOKEN, token('b@example.org')), 10)
  t.same(new Set(served.map((a) => a.pid)), new Set([replaced.worker_pid, before.find((a) => a.pid !== victim)?.pid]), 'the replacement and the survivor answer')
  t.same(served.map((a) => a.res.status), served.map(() => 403), 'the replacement reads the current configuration')
  t.equal(sample((await admin(c, 'GET', '/metrics')).body, 'regguard_worker_restarts_total'), 1, 'counted')

  // a request each worker has in flight when SIGTERM reaches the primary still completes
  const slow = [getFrom(c, '/_matrix/client/v3/slow'), getFrom(c, '/_matrix/client/v3/slow')]
  const deadline = Date.now() + 30_000
  while (hs.receivedMatching('/slow').length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(hs.receivedMatching('/slow').length, 2, 'both slow requests reached the homeserver')
  c.cli.child.kill('SIGTERM')
  const done = await Promise.all(slow)
  t.same(done.map((a) => a.res.status), [200, 200], 'requests in flight completed')
  t.equal(new Set(done.map((a) => a.worker)).size, 2, 'one on each worker')
  t.equal(await c.cli.exited, 0)
})

t.test('a worker that cannot start ends the command with status 2 and the reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'regguard-workers-bad-'))
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, [
    `server: { host: 127.0.0.1, port: ${await freePort()}, workers: 2 }`,
    `admin: { host: 127.0.0.1, port: ${await freePort()} }`,
    // a directory where the file should be: SQLite cannot open it
    `storage: { url: "sqlite://${dir}" }`
  ].join('\n') + '\n')
  const cli = runCli(t, ['--config', file])
  t.equal(await cli.exited, 2)
  t.match(cli.logs.filter((l) => l.stderr !== undefined).map((l) => l.stderr).join(''), /cannot open the store at storage\.url/)
  t.ok(cli.logs.some((l) => l.msg !== undefined && String(l.msg).startsWith('regguard could not start')), 'the primary says so')
})
