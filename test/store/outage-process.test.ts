import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { freePort, runCli } from '../helpers/cli-process.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { startTcpRelay } from '../helpers/tcp-relay.js'
import { ADMIN_TOKEN, addInvite, sleep } from '../invites/helpers.js'
import { requestEmailToken } from '../helpers/register.js'
import { dropSchema, PG_URL } from './backends.js'

// The real process (dist/src/cli.js): PostgreSQL and Redis cut under it, the way a restart does
// it. It used to exit at once on the unhandled 'error' of a pg client; it must keep running,
// refuse what needs the store for the time being, and recover by itself.

t.setTimeout(120_000)

t.test('regguard serve survives PostgreSQL and Redis being cut, and recovers', async (t) => {
  const hs = await startHomeserver(t)
  const pgRelay = await startTcpRelay(t, Number(new URL(PG_URL).port || 5432))
  const redisRelay = await startTcpRelay(t, 6379)
  const schema = `rg_outage_cli_${process.pid}_${randomBytes(4).toString('hex')}`
  t.teardown(() => dropSchema(schema))
  const url = new URL(PG_URL)
  url.port = String(pgRelay.port)
  const dir = mkdtempSync(join(tmpdir(), 'regguard-outage-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const [port, adminPort] = [await freePort(), await freePort()]
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, [
    `server: { host: 127.0.0.1, port: ${port} }`,
    `admin: { host: 127.0.0.1, port: ${adminPort}, token: "${ADMIN_TOKEN}" }`,
    `homeserver: { url: "${hs.url}" }`,
    `storage: { url: "${url.toString()}?schema=${schema}", timeout_ms: 1000 }`,
    'register:',
    `  rate_limit: { enabled: true, per_ip: { max: 0 }, per_address: { max: 1000 }, redis_url: "redis://127.0.0.1:${redisRelay.port}", timeout_ms: 300 }`,
    '  policy: { allowed: false, threepid: { email: { domain: { whitelist: ["*example.org"] } } } }'
  ].join('\n') + '\n')
  const cli = runCli(t, ['--config', file])
  await cli.waitForLog((l) => l.msg === 'regguard listening')
  const adminUrl = `http://127.0.0.1:${adminPort}`

  await addInvite(adminUrl, 'email', 'guest@elsewhere.example')
  const warm = await Promise.all(Array.from({ length: 5 }, (_, i) => requestEmailToken(port, 'guest@elsewhere.example', `w${i}`)))
  t.same(warm.map((w) => w.status), [200, 200, 200, 200, 200], 'invited, counted, forwarded')

  const cut = pgRelay.cutOnNextSend()
  const inFlight = requestEmailToken(port, 'guest@elsewhere.example', 'in-flight')
  await cut
  redisRelay.cut()
  const answer = await inFlight
  t.equal(answer.status, 503, 'the request whose lookup was cut: 503')
  t.equal(answer.body.errcode, 'M_UNKNOWN')
  // idle pooled connections die too (cut() closed them all): give every 'error' time to fire
  await sleep(300)
  t.equal(cli.child.exitCode, null, 'the process is still running')
  t.equal((await requestEmailToken(port, 'guest@elsewhere.example', 'away')).status, 503, 'invite-dependent: temporary error')
  t.equal((await requestEmailToken(port, 'bob@example.org', 'bob')).status, 200, 'the lists allow: forwarded, unlimited')
  t.equal((await request(`${adminUrl}/ready`)).statusCode, 503, '/ready: not ready')
  t.ok(cli.logs.some((l) => l.msg === 'rate-limit Redis unavailable: requests go on without being limited until it answers'), 'the Redis outage is logged once')
  t.notOk(cli.logs.some((l) => typeof l.stderr === 'string' && /Unhandled error event|Connection terminated/.test(l.stderr)), 'nothing unhandled on stderr')

  pgRelay.restore()
  redisRelay.restore()
  t.equal((await requestEmailToken(port, 'guest@elsewhere.example', 'back')).status, 200, 'allowed again, no restart')
  t.equal((await request(`${adminUrl}/ready`)).statusCode, 200, '/ready: ready again')
  await cli.waitForLog((l) => l.msg === 'rate-limit Redis answering again', 5000)
  t.equal(cli.child.exitCode, null)
  cli.child.kill('SIGTERM')
  t.equal(await cli.exited, 0, 'and it stops cleanly')
})
