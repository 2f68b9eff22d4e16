import { connect } from 'node:net'
import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { freePort } from '../helpers/net.js'
import { rawRequest, type RawResponse } from '../helpers/raw-http.js'
import { postRaw, serve, type Served } from './run.js'

// The installed command as a process tree: server.workers: 2 (both answer, SIGTERM stops all),
// SIGHUP (the configuration re-read and in force), SIGTERM (requests in flight finish, exit 0).

t.setTimeout(150_000)

const EMAIL_TOKEN = '/_matrix/client/v3/register/email/requestToken'
const token = (email: string): string => JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 })
const policy = (allowed: boolean): Record<string, any> => ({ register: { policy: { allowed } } })

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { if ((err as { code?: string }).code === 'ESRCH') return false; throw err }
}

function refused (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(true))
  })
}

let probes = 0
/** A token request on a new connection, and the worker whose request log line names it. */
async function answered (rg: Served, email: string): Promise<{ res: RawResponse, worker: number, pid: number }> {
  const probe = `probe${++probes}`
  const res = await postRaw(rg.port, `${EMAIL_TOKEN}?${probe}=1`, token(email), { 'Content-Type': 'application/json' })
  const line = await rg.waitForLog((l) => l.msg === 'request' && typeof l.target === 'string' && l.target.includes(`${probe}=`))
  return { res, worker: Number(line.worker), pid: Number(line.pid) }
}

t.test('server.workers: 2: both workers answer on the shared ports; SIGTERM stops every process', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await serve(t, hs.url, { ...policy(true), server: { port: await freePort(), workers: 2 }, admin: { port: await freePort() }, log: { requests: true } })
  const seen: Array<{ res: RawResponse, worker: number, pid: number }> = []
  while (seen.length < 40 && new Set(seen.map((a) => a.worker)).size < 2) seen.push(await answered(rg, 'a@example.org'))
  const pids = [...new Set(seen.map((a) => a.pid))]
  t.equal(pids.length, 2, 'two worker processes answered')
  t.ok(pids.every((p) => p !== rg.child.pid), 'neither is the primary')
  t.same(seen.map((a) => a.res.status), seen.map(() => 200), 'each answered')
  t.equal(hs.receivedMatching('requestToken').length, seen.length, 'each forwarded once')
  const health = await fetch(`${rg.adminUrl}/health`)
  t.equal(health.status, 200, 'the admin listener is served too')

  rg.child.kill('SIGTERM')
  t.same(await rg.exited, { code: 0, signal: null }, 'the primary exits 0')
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.same(pids.filter(alive), [], 'no worker is left running')
  t.ok(await refused(rg.port), 'nothing listens any more')
})

t.test('SIGHUP: the configuration file is read again and in force from the next request', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await serve(t, hs.url, policy(true))
  t.equal((await postRaw(rg.port, EMAIL_TOKEN, token('a@example.org'))).status, 200, 'allowed before the reload')
  rg.rewrite(policy(false))
  rg.child.kill('SIGHUP')
  await rg.waitForLog((l) => l.msg === 'configuration reloaded')
  const after = await postRaw(rg.port, EMAIL_TOKEN, token('b@example.org'))
  t.equal(after.status, 403, 'denied after it')
  t.equal(JSON.parse(after.body).errcode, 'M_THREEPID_DENIED')
  t.equal(hs.receivedMatching('requestToken').length, 1, 'the denied request never reached the homeserver')

  rg.rewrite({ ...policy(true), unknown_key: 1 })
  rg.child.kill('SIGHUP')
  await rg.waitForLog((l) => l.msg === 'configuration reload refused; the previous configuration stays in force')
  t.equal((await postRaw(rg.port, EMAIL_TOKEN, token('c@example.org'))).status, 403, 'a bad file is refused, the previous configuration stays')
  t.equal(rg.child.exitCode, null, 'still running')
})

t.test('SIGTERM: a request in flight finishes, new connections are refused, exit 0', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond((r) => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"slow":true}', delayMs: r.url.includes('/slow') ? 1500 : 0 }))
  const rg = await serve(t, hs.url, policy(true))
  const slow = rawRequest(rg.port, 'GET /_matrix/client/v3/slow HTTP/1.1\r\nHost: matrix.example.org\r\nConnection: close\r\n\r\n', 20_000)
  const deadline = Date.now() + 10_000
  while (hs.receivedMatching('/slow').length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(hs.receivedMatching('/slow').length, 1, 'the slow request reached the homeserver')
  rg.child.kill('SIGTERM')
  await rg.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('shutting down'))
  t.ok(await refused(rg.port), 'no new connection once shutting down')
  const done = await slow
  t.equal(done.status, 200, 'the request in flight completed')
  t.equal(done.body, '{"slow":true}', 'with its whole answer')
  t.same(await rg.exited, { code: 0, signal: null }, 'exit 0')
  t.ok(rg.logs.some((l) => l.msg === 'stopped'), 'logged stopped')
  t.equal(rg.stderr(), '', 'nothing on stderr')
})
