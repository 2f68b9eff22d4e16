import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { startHomeserver, type Homeserver } from '../helpers/homeserver.js'
import { startRegguard, type Started } from '../helpers/regguard.js'
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js'
import { ADMIN_TOKEN, addInvite, adminCall, sleep } from '../invites/helpers.js'
import { emailStage, post, requestEmailToken, type Answer } from '../helpers/register.js'
import { dropSchema, PG_URL } from './backends.js'

// PostgreSQL going away (restart, failover: every connection cut) while regguard runs, through a
// relay the test cuts and restores. regguard must not crash (in-process: an unhandled 'error'
// fails this file), must refuse what needs the store with a temporary error and forward
// nothing, must keep deciding what the lists decide alone, and must recover by itself.

t.setTimeout(120_000)

const INVITED = 'guest@elsewhere.example'
const STRANGER = 'nobody@elsewhere.example'
const ALLOWED = 'alice@example.org'
const REGISTER = '/_matrix/client/v3/register'
const TOKEN_PATH = '/register/email/requestToken'

/** storage.url through the relay, in a schema of its own dropped on teardown (straight, not relayed). */
function relayedPgUrl (t: { teardown: (fn: () => unknown) => void }, relay: TcpRelay): string {
  const schema = `rg_outage_${process.pid}_${randomBytes(4).toString('hex')}`
  t.teardown(() => dropSchema(schema))
  const u = new URL(PG_URL)
  u.port = String(relay.port)
  return `${u.toString()}?schema=${schema}`
}

function config (url: string, invite = true): Record<string, unknown> {
  return {
    admin: { token: ADMIN_TOKEN },
    storage: { url, timeout_ms: 1000 },
    register: { policy: { allowed: false, invite, threepid: { email: { domain: { whitelist: ['*example.org'] } } } } }
  }
}

async function ready (rg: Started): Promise<{ status: number, body: Record<string, unknown> }> {
  const r = await request(`${rg.adminUrl}/ready`)
  return { status: r.statusCode, body: await r.body.json() as Record<string, unknown> }
}

async function metric (rg: Started, name: string): Promise<number> {
  const text = await (await request(`${rg.adminUrl}/metrics`)).body.text()
  let sum = 0
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop())
  return sum
}

function tokenArrivals (hs: Homeserver): number { return hs.receivedMatching(TOKEN_PATH).length }
function registerArrivals (hs: Homeserver): number { return hs.received.filter((r) => r.url === REGISTER).length }

function isTemporary (t: Test, r: Answer, what: string): void {
  t.equal(r.status, 503, `${what}: 503`)
  t.equal(r.body.errcode, 'M_UNKNOWN', `${what}: M_UNKNOWN`)
  t.match(String(r.body.error), /temporarily/i, `${what}: says it is temporary`)
}

/** Everything that must hold while the store is away. */
async function whileAway (t: Test, hs: Homeserver, rg: Started, session: { sid: string, cs: string }): Promise<void> {
  const tokens = tokenArrivals(hs)
  isTemporary(t, await requestEmailToken(rg.port, INVITED, 'cs-away'), 'an invited address (the lists deny, the invite rule is on)')
  isTemporary(t, await requestEmailToken(rg.port, STRANGER, 'cs-away'), 'an address nobody invited')
  isTemporary(t, await requestEmailToken(rg.port, INVITED, 'cs-away', 'account'), '/account/3pid for an invited address')
  t.equal(tokenArrivals(hs), tokens, 'none of them reached the homeserver')

  const allowed = await requestEmailToken(rg.port, 'bob@example.org', 'cs-bob')
  t.equal(allowed.status, 200, 'an address the lists allow is still forwarded')
  t.equal(tokenArrivals(hs), tokens + 1, 'and reached the homeserver')

  const before = hs.received.length
  const versions = await request(`${rg.url}/_matrix/client/versions`)
  t.equal(versions.statusCode, 200, 'pass-through still works')
  t.equal(versions.headers['x-homeserver'], 'stand-in')
  await versions.body.text()
  t.equal(hs.received.length, before + 1)

  const registers = registerArrivals(hs)
  isTemporary(t, await post(rg.port, REGISTER, { username: 'alice', ...emailStage(session.sid, session.cs) }), '/register with a 3PID stage')
  t.equal(registerArrivals(hs), registers, 'the /register never reached the homeserver')

  const check = await request(`${rg.adminUrl}/_regguard/v1/threepid_check?medium=email&address=${encodeURIComponent(INVITED)}`)
  t.equal(check.statusCode, 503, 'threepid_check: 503, which the Synapse module treats as a refusal')
  t.equal(((await check.body.json()) as { errcode?: string }).errcode, 'M_UNKNOWN')

  const listed = await adminCall(rg.adminUrl, 'GET', '/_regguard/admin/v1/invites')
  t.equal(listed.status, 503, 'the admin API: 503 too, not 500')
  t.equal(listed.body.errcode, 'M_UNKNOWN')

  const r = await ready(rg)
  t.equal(r.status, 503, '/ready: not ready')
  t.equal(r.body.store === 'ok', false, '/ready names the store')
  t.match(String(r.body.store), /^error: /)
  t.equal(r.body.homeserver, 'ok', 'and only the store')
}

t.test('PostgreSQL cut while a query is in flight, then with idle connections: no crash, fail closed, recovery', async (t) => {
  const hs = await startHomeserver(t)
  const relay = await startTcpRelay(t, Number(new URL(PG_URL).port || 5432))
  const rg = await startRegguard(t, hs.url, config(relayedPgUrl(t, relay)))
  await addInvite(rg.adminUrl, 'email', INVITED)
  t.equal((await requestEmailToken(rg.port, INVITED, 'cs0')).status, 200, 'the invite allows before the outage')
  const tok = await requestEmailToken(rg.port, ALLOWED, 'alice')
  t.equal(tok.status, 200)
  const session = { sid: tok.body.sid as string, cs: 'alice' }
  // several pooled connections, idle once these are answered
  const warm = await Promise.all(Array.from({ length: 6 }, (_, i) => requestEmailToken(rg.port, INVITED, `warm${i}`)))
  t.same(warm.map((w) => w.status), [200, 200, 200, 200, 200, 200])
  t.ok(relay.open() >= 2, `several connections open (${relay.open()})`)

  // 1. the connection dies under a query: the pg client kysely holds emits 'error' (the crash)
  const cut = relay.cutOnNextSend()
  const tokens = tokenArrivals(hs)
  const inFlight = requestEmailToken(rg.port, INVITED, 'cs-inflight')
  await cut
  isTemporary(t, await inFlight, 'the request whose lookup was cut')
  t.equal(tokenArrivals(hs), tokens, 'and it was not forwarded')
  await whileAway(t, hs, rg, session)
  t.ok(await metric(rg, 'regguard_store_errors_total') >= 5, 'store errors are counted')
  t.ok(rg.logs.some((l) => l.msg === 'store unavailable: requests that need it are refused with a temporary error until it answers'), 'the outage is logged')

  relay.restore()
  const first = await requestEmailToken(rg.port, INVITED, 'cs-back')
  t.equal(first.status, 200, 'the first invite request after PostgreSQL is back is allowed, without a restart')
  t.equal((await ready(rg)).status, 200, '/ready: ready again')
  const registers = registerArrivals(hs)
  t.equal((await post(rg.port, REGISTER, { username: 'alice', ...emailStage(session.sid, session.cs) })).status, 200, '/register with the session recorded before the outage')
  t.equal(registerArrivals(hs), registers + 1, 'forwarded')
  t.ok(rg.logs.some((l) => l.msg === 'store answering again'), 'the recovery is logged')

  // 2. cut with only idle pooled connections (what a restart does between requests)
  await Promise.all(Array.from({ length: 4 }, (_, i) => requestEmailToken(rg.port, INVITED, `warm-again${i}`)))
  t.ok(relay.open() >= 1)
  relay.cut()
  await sleep(100)
  await whileAway(t, hs, rg, session)
  relay.restore()
  t.equal((await requestEmailToken(rg.port, INVITED, 'cs-back-again')).status, 200, 'allowed again at the first try')
  t.equal((await ready(rg)).status, 200)
})

t.test('PostgreSQL gone silent (no reset): requests are refused within storage.timeout_ms, and recover', async (t) => {
  const hs = await startHomeserver(t)
  const relay = await startTcpRelay(t, Number(new URL(PG_URL).port || 5432))
  const rg = await startRegguard(t, hs.url, config(relayedPgUrl(t, relay)))
  await addInvite(rg.adminUrl, 'email', INVITED)
  t.equal((await requestEmailToken(rg.port, INVITED, 'cs0')).status, 200)
  // every pooled connection (pg.Pool max 10) open and idle, so the frozen lookups hold them all
  relay.slow(200)
  const warm = await Promise.all(Array.from({ length: 10 }, (_, i) => requestEmailToken(rg.port, INVITED, `warm${i}`)))
  t.ok(warm.every((w) => w.status === 200))
  relay.slow(0)
  // and the invite index's LISTEN connection (src/store/invite-feed.ts)
  t.equal(relay.open(), 11, 'ten pooled connections and the LISTEN one')
  relay.freeze()
  const started = Date.now()
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => requestEmailToken(rg.port, INVITED, `frozen${i}`)))
  const took = Date.now() - started
  for (const a of answers) isTemporary(t, a, 'a lookup the store never answers')
  t.ok(took >= 900 && took < 2500, `answered at the deadline (storage.timeout_ms 1000), took ${took} ms`)
  t.equal((await requestEmailToken(rg.port, 'carol@example.org', 'cs-carol')).status, 200, 'the lists still decide alone')
  const r = await ready(rg)
  t.equal(r.status, 503)
  t.match(String(r.body.store), /no answer within 1000 ms/)
  await sleep(100)
  relay.restore()
  // the frozen connections were closed at the deadline: the pool is not left full of them
  t.equal((await requestEmailToken(rg.port, INVITED, 'cs-back')).status, 200, 'allowed at the first try once it answers')
  t.equal((await ready(rg)).status, 200)
})

t.test('invite rule off: the store going away changes nothing for requestToken', async (t) => {
  const hs = await startHomeserver(t)
  const relay = await startTcpRelay(t, Number(new URL(PG_URL).port || 5432))
  const rg = await startRegguard(t, hs.url, config(relayedPgUrl(t, relay), false))
  t.equal((await requestEmailToken(rg.port, STRANGER, 'cs0')).status, 403)
  relay.cut()
  const tokens = tokenArrivals(hs)
  const denied = await requestEmailToken(rg.port, STRANGER, 'cs1')
  t.equal(denied.status, 403, 'the lists deny and no invite could change that: the usual 403')
  t.equal(denied.body.errcode, 'M_THREEPID_DENIED')
  t.equal((await requestEmailToken(rg.port, 'dave@example.org', 'cs2')).status, 200, 'the lists allow')
  t.equal(tokenArrivals(hs), tokens + 1)
})
