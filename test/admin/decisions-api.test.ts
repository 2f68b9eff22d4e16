import type { AddressInfo } from 'node:net'
import t, { type Tap } from 'tap'
import { request } from 'undici'
import { buildApp, type BuildOptions } from '../../src/app.js'
import { loadConfig } from '../../src/config/load.js'
import { createSecretKey } from 'node:crypto'
import { createLogger, redactAddress } from '../../src/log.js'

// a configured log.hash_key, so the test can compute the hashes the history must hold
const HASH_KEY = 'decisions-api-test-key'
const redacted = (address: string): string => redactAddress('email', address, false, createSecretKey(Buffer.from(HASH_KEY)))
import { openStore } from '../../src/store/open.js'
import type { Store } from '../../src/store/store.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { ADMIN_TOKEN, addInvite, adminCall } from '../invites/helpers.js'
import { storageUrl } from '../store/backends.js'

// GET /_regguard/admin/v1/decisions and /decisions/summary against a running regguard: every
// policy decision made through the proxy and the threepid_check endpoint is there, redacted as
// the logs redact it, behind the admin token, paged and filtered; a slow store delays no request.

const policy = { allowed: false, threepid: { email: { domain: { whitelist: ['good.example.org'], blacklist: ['bad.example.org'] } } } }
const D = '/_regguard/admin/v1/decisions'

const token = (port: number, email: string, endpoint = 'register') =>
  rawPost(port, `/_matrix/client/v3/${endpoint}/email/requestToken`, JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 }))

t.test('decisions made through the proxy are listed, newest first, redacted', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, log: { hash_key: HASH_KEY }, register: { policy } })
  t.equal((await token(rg.port, 'Ann@Good.Example.org')).status, 200)
  t.equal((await token(rg.port, 'bob@bad.example.org', 'account/3pid')).status, 403)
  const invite = await addInvite(rg.adminUrl, 'email', 'carol@elsewhere.net')
  t.equal((await token(rg.port, 'carol@elsewhere.net')).status, 200)
  const check = await request(`${rg.adminUrl}/_regguard/v1/threepid_check?medium=email&address=dave@elsewhere.net`)
  t.equal(check.statusCode, 200)
  await check.body.dump()
  // /register with a 3PID stage regguard never saw is refused: a decision too
  const reg = await rawPost(rg.port, '/_matrix/client/v3/register', JSON.stringify({ auth: { type: 'm.login.email.identity', threepid_creds: { sid: 'x', client_secret: 'y' } } }))
  t.equal(reg.status, 403)
  await rg.app.context.audit.flush()

  const r = await adminCall(rg.adminUrl, 'GET', D)
  t.equal(r.status, 200)
  t.match(r.body.decisions, [
    { endpoint: 'register', medium: 'email', result: 'deny', rule: 'session', address: null, domain: null, client_ip: '127.0.0.1' },
    { endpoint: 'threepid_check', medium: 'email', result: 'deny', rule: 'default', address: redacted('dave@elsewhere.net'), domain: 'elsewhere.net' },
    { endpoint: 'register/requestToken', result: 'allow', rule: 'invite', detail: invite.id, domain: 'elsewhere.net' },
    { endpoint: 'account/requestToken', result: 'deny', rule: 'blacklist', detail: 'domain bad.example.org', address: redacted('bob@bad.example.org') },
    { endpoint: 'register/requestToken', result: 'allow', rule: 'whitelist', address: redacted('ann@good.example.org'), domain: 'good.example.org', client_ip: '127.0.0.1' }
  ])
  t.equal(r.body.decisions.length, 5)
  t.notMatch(JSON.stringify(r.body), /ann@|bob@|carol@|dave@/, 'no whole address anywhere')
  t.equal(r.body.next_from, undefined)
  t.type(r.body.decisions[0].at, 'number')
  t.type(r.body.decisions[0].id, 'string')

  const page1 = await adminCall(rg.adminUrl, 'GET', `${D}?limit=2`)
  t.equal(page1.body.decisions.length, 2)
  const page2 = await adminCall(rg.adminUrl, 'GET', `${D}?limit=2&from=${page1.body.next_from as string}`)
  const page3 = await adminCall(rg.adminUrl, 'GET', `${D}?limit=2&from=${page2.body.next_from as string}`)
  t.equal(page3.body.next_from, undefined, 'the last page has no next_from')
  t.same([...page1.body.decisions, ...page2.body.decisions, ...page3.body.decisions], r.body.decisions, 'the pages make the whole list')

  const only = async (q: string): Promise<string[]> => (await adminCall(rg.adminUrl, 'GET', `${D}?${q}`)).body.decisions.map((d: { endpoint: string, rule: string }) => `${d.endpoint} ${d.rule}`)
  t.same(await only('result=allow'), ['register/requestToken invite', 'register/requestToken whitelist'])
  t.same(await only('rule=blacklist'), ['account/requestToken blacklist'])
  t.same(await only('medium=none'), [])
  t.same(await only('domain=ELSEWHERE.net'), ['threepid_check default', 'register/requestToken invite'], 'domain canonicalised')
  t.same(await only('domain=elsewhere.net&result=deny'), ['threepid_check default'])

  const s = await adminCall(rg.adminUrl, 'GET', `${D}/summary?hours=2`)
  t.equal(s.status, 200)
  t.equal(s.body.hours, 2)
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000
  t.same(s.body.buckets, [
    { hour, result: 'allow', rule: 'invite', count: 1 },
    { hour, result: 'allow', rule: 'whitelist', count: 1 },
    { hour, result: 'deny', rule: 'blacklist', count: 1 },
    { hour, result: 'deny', rule: 'default', count: 1 },
    { hour, result: 'deny', rule: 'session', count: 1 }
  ])
  t.equal(s.body.from, hour - 3_600_000, 'two whole hours, the current one included')
  t.match(s.body.history, { queued: 0, dropped: 0, written: 5, retention_ms: 30 * 86_400_000 })
})

t.test('one address looked up: as the user typed it, found under its redacted form', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, log: { hash_key: HASH_KEY }, register: { policy } })
  await token(rg.port, 'ann@good.example.org')
  await token(rg.port, 'bob@bad.example.org')
  await token(rg.port, 'ann@good.example.org')
  await rg.app.context.audit.flush()
  const ann = await adminCall(rg.adminUrl, 'GET', `${D}?medium=email&address=${encodeURIComponent(' ANN@Good.Example.org ')}`)
  t.equal(ann.status, 200)
  t.ok(ann.body.decisions.length >= 1, 'found')
  for (const d of ann.body.decisions) t.equal(d.address, redacted('ann@good.example.org'), 'only that address')
  t.equal(ann.body.decisions.reduce((n: number, d: { count: number }) => n + d.count, 0), 2, 'both of its decisions')
  const nobody = await adminCall(rg.adminUrl, 'GET', `${D}?medium=email&address=carol@good.example.org`)
  t.same(nobody.body.decisions, [], 'an address never seen: nothing')
  const noMedium = await adminCall(rg.adminUrl, 'GET', `${D}?address=ann@good.example.org`)
  t.equal(noMedium.status, 400)
  t.equal(noMedium.body.errcode, 'M_INVALID_PARAM')
  const bad = await adminCall(rg.adminUrl, 'GET', `${D}?medium=email&address=not-an-address`)
  t.equal(bad.status, 400)
})

t.test('log.full_addresses keeps the whole address in the history too', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, log: { full_addresses: true }, register: { policy } })
  await token(rg.port, 'ann@good.example.org')
  await rg.app.context.audit.flush()
  t.match((await adminCall(rg.adminUrl, 'GET', D)).body.decisions, [{ address: 'ann@good.example.org' }])
})

t.test('the decisions API needs the admin token and refuses bad parameters', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN } })
  for (const path of [D, `${D}/summary`, '/_regguard/admin/v1/policy', '/_regguard/admin/v1/policy/check?medium=email&address=a@b.org']) {
    t.match(await adminCall(rg.adminUrl, 'GET', path, undefined, null), { status: 401, body: { errcode: 'M_MISSING_TOKEN' } }, `${path}: no token`)
    t.match(await adminCall(rg.adminUrl, 'GET', path, undefined, 'wrong'), { status: 401, body: { errcode: 'M_UNKNOWN_TOKEN' } }, `${path}: wrong token`)
  }
  for (const q of ['limit=0', 'limit=1001', 'limit=x', 'result=maybe', 'rule=Black%20list', 'medium=e-mail', 'domain=a..b', 'from=bm9wZQ', 'result=allow&result=deny']) {
    t.match(await adminCall(rg.adminUrl, 'GET', `${D}?${q}`), { status: 400, body: { errcode: 'M_INVALID_PARAM' } }, q)
  }
  for (const q of ['hours=0', 'hours=745', 'hours=-1']) {
    t.match(await adminCall(rg.adminUrl, 'GET', `${D}/summary?${q}`), { status: 400, body: { errcode: 'M_INVALID_PARAM' } }, q)
  }
  const off = await startRegguard(t, hs.url, {})
  t.match(await adminCall(off.adminUrl, 'GET', D), { status: 404, body: { errcode: 'M_UNRECOGNIZED' } }, 'admin API off')
})

/** regguard on a real SQLite store whose history writes hang until released. */
async function withHangingHistory (t: Tap.Test, audit: BuildOptions['audit'] = {}) {
  const hs = await startHomeserver(t)
  const real = await openStore(storageUrl(t, 'sqlite'))
  t.teardown(() => real.close())
  let release: () => void = () => {}
  const hung = new Promise<void>((resolve) => { release = resolve })
  const slow: Store = { ...real, decisions: { ...real.decisions, addMany: async (b) => { await hung; await real.decisions.addMany(b) } } }
  const config = loadConfig({ object: { homeserver: { url: hs.url }, admin: { token: ADMIN_TOKEN }, log: { hash_key: HASH_KEY }, register: { policy, rate_limit: { enabled: false } } }, env: {} })
  const app = await buildApp(config, { store: slow, audit, logger: createLogger('silent') })
  await app.proxy.listen({ host: '127.0.0.1', port: 0 })
  let closed = false
  const close = async (): Promise<void> => { if (!closed) { closed = true; await app.close() } }
  t.teardown(async () => { release(); await close() })
  return { app, real, release, close, port: (app.proxy.server.address() as AddressInfo).port }
}

t.test('a slow store delays no request; the decisions wait and are written once it answers', async (t) => {
  const { app, real, release, close, port } = await withHangingHistory(t, { intervalMs: 10 })
  for (let i = 0; i < 30; i++) {
    const started = Date.now()
    t.equal((await token(port, `u${i}@bad.example.org`)).status, 403)
    t.ok(Date.now() - started < 1000, 'answered while the history store hangs')
  }
  t.ok(app.context.audit.queued > 0, 'decisions wait in the queue')
  release()
  await close()
  t.equal(app.context.audit.queued, 0, 'flushed on close')
  t.equal((await real.decisions.list({ limit: 100 })).decisions.length, 30, 'all written once the store answered')
})

t.test('overflow through a running regguard: the oldest are dropped, the metric counts them', async (t) => {
  const { app, real, release, close, port } = await withHangingHistory(t, { maxQueued: 5, intervalMs: 60_000 })
  for (let i = 0; i < 8; i++) t.equal((await token(port, `u${i}@bad.example.org`)).status, 403)
  t.equal(app.context.audit.dropped, 3)
  t.match(await app.context.metrics.registry.metrics(), /regguard_decision_history_dropped_total\{reason="queue_full"\} 3/)
  release()
  await close()
  const kept = (await real.decisions.list({ limit: 100 })).decisions.map((d) => d.address)
  t.same(kept, [7, 6, 5, 4, 3].map((i) => redacted(`u${i}@bad.example.org`)), 'the five newest kept')
})
