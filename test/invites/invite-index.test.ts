import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runCommand } from '../helpers/cli-process.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard, type Started } from '../helpers/regguard.js'
import { startTcpRelay } from '../helpers/tcp-relay.js'
import { openStore } from '../../src/store/open.js'
import { PG_URL, storageUrl, tempDir } from '../store/backends.js'
import { ADMIN_TOKEN, addInvite, adminCall } from './helpers.js'

// The in-memory invite index (src/invites/index.ts): a denial for an address no invite names
// is answered without the store; whatever is written (admin API, CLI, another instance) is
// seen at once or within the bound; when the index cannot be sure, the store decides.

t.setTimeout(120_000)

const policy = { allowed: false }

/** Counts the invite lookups that reach the store of a running regguard */
function countLookups (rg: Started): () => number {
  const invites = rg.app.context.store.invites
  const real = invites.findPending
  let n = 0
  invites.findPending = async (...args) => { n++; return await real(...args) }
  return () => n
}

function requestToken (rg: Started, email: string): Promise<{ status: number }> {
  return rawPost(rg.port, '/_matrix/client/v3/register/email/requestToken', JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 }))
}

async function within (ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > ms) return -1
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return Date.now() - started
}

t.test('a denial for an address with no invite does not ask the store; an added invite allows at once, a revoked one denies', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, register: { policy } })
  const lookups = countLookups(rg)

  t.equal((await requestToken(rg, 'stranger@example.com')).status, 403)
  t.equal((await requestToken(rg, 'other@example.com')).status, 403)
  t.equal(lookups(), 0, 'no store lookup for addresses no invite names')

  const inv = await addInvite(rg.adminUrl, 'email', 'friend@example.com')
  t.equal((await requestToken(rg, 'friend@example.com')).status, 200, 'allowed right after the admin API answered')
  t.equal(hs.received.length, 1)
  t.equal((await adminCall(rg.adminUrl, 'DELETE', `/_regguard/admin/v1/invites/${inv.id}`)).status, 200)
  t.equal((await requestToken(rg, 'friend@example.com')).status, 403, 'revoked: denied (the store decides)')
  t.equal(hs.received.length, 1)

  const imported = await adminCall(rg.adminUrl, 'POST', '/_regguard/admin/v1/invites/import', 'email,bulk@example.com\n')
  t.equal(imported.status, 201, JSON.stringify(imported.body))
  t.equal((await requestToken(rg, 'bulk@example.com')).status, 200, 'imported (addMany): allowed at once')
  const before = lookups()
  t.equal((await requestToken(rg, 'stranger@example.com')).status, 403)
  t.equal(lookups(), before, 'still no store lookup for a stranger')
})

t.test('an invite the CLI adds to the same SQLite file allows at once', async (t) => {
  const hs = await startHomeserver(t)
  const dir = tempDir(t)
  const url = `sqlite://${join(dir, 'regguard.sqlite')}`
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, JSON.stringify({ storage: { url }, register: { policy } }))
  const rg = await startRegguard(t, hs.url, { storage: { url }, register: { policy } })
  const lookups = countLookups(rg)
  t.equal((await requestToken(rg, 'cli@example.com')).status, 403)
  t.equal(lookups(), 0)

  const added = await runCommand(['invites', 'add', '--config', file, 'email', 'cli@example.com'])
  t.equal(added.code, 0, added.stderr)
  t.equal((await requestToken(rg, 'cli@example.com')).status, 200, 'the first request after the CLI answered is allowed')

  // once re-read, strangers are again answered without the store
  t.ok(await within(5000, async () => {
    const n = lookups()
    await requestToken(rg, 'stranger@example.com')
    return lookups() === n
  }) >= 0, 'the index is trusted again after re-reading the file')
})

t.test('two instances on PostgreSQL: an invite recorded on A allows on B within a second, B asks no store for strangers', async (t) => {
  const hs = await startHomeserver(t)
  const url = storageUrl(t, 'postgres')
  const config = { admin: { token: ADMIN_TOKEN }, storage: { url }, register: { policy } }
  const a = await startRegguard(t, hs.url, config)
  const b = await startRegguard(t, hs.url, config)
  const lookupsB = countLookups(b)
  // B's LISTEN connection is up and its first reading done
  t.ok(await within(5000, async () => {
    const n = lookupsB()
    await requestToken(b, 'stranger@example.com')
    return lookupsB() === n
  }) >= 0, 'B answers strangers without the store')

  await addInvite(a.adminUrl, 'email', 'shared@example.com')
  const ms = await within(1000, async () => (await requestToken(b, 'shared@example.com')).status === 200)
  t.ok(ms >= 0 && ms <= 1000, `allowed on B ${ms} ms after A answered`)
  const n = lookupsB()
  t.equal((await requestToken(b, 'stranger@example.com')).status, 403)
  t.equal(lookupsB(), n, 'still no store lookup on B for a stranger')
})

t.test('PostgreSQL: with the LISTEN connection cut, no crash, and denials ask the store', async (t) => {
  const hs = await startHomeserver(t)
  const relay = await startTcpRelay(t, Number(new URL(PG_URL).port || 5432))
  const direct = storageUrl(t, 'postgres')
  const u = new URL(direct)
  u.port = String(relay.port)
  const rg = await startRegguard(t, hs.url, { storage: { url: u.toString(), timeout_ms: 2000 }, register: { policy } })
  const lookups = countLookups(rg)
  t.ok(await within(5000, async () => {
    const n = lookups()
    await requestToken(rg, 'stranger@example.com')
    return lookups() === n
  }) >= 0, 'index trusted while connected')

  relay.cut()
  // another instance (straight to PostgreSQL) records an invite while this one cannot hear it
  const other = await openStore(direct)
  t.teardown(() => other.close())
  await other.invites.add({ medium: 'email', address: 'unheard@example.com', room_id: null, source: 'admin', expires_at: Date.now() + 3_600_000 })
  relay.restore()

  // the pool reconnects on demand; the LISTEN connection a second later: until then (and until
  // its re-reading is done) the store decides every denial
  const ms = await within(5000, async () => (await requestToken(rg, 'unheard@example.com')).status === 200)
  t.ok(ms >= 0, `the invite written while the watch was down allows (${ms} ms)`)
  t.ok(rg.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('cannot watch other writers')), 'the lost watch is logged')
  t.equal((await requestToken(rg, 'stranger@example.com')).status, 403, 'the process still answers')
  t.ok(await within(5000, async () => {
    const n = lookups()
    await requestToken(rg, 'stranger@example.com')
    return lookups() === n
  }) >= 0, 'trusted again once watching and re-read')
})
