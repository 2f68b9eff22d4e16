import { createHmac } from 'node:crypto'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard, type Started } from '../helpers/regguard.js'
import { ADMIN_TOKEN, addInvite, eventually, listInvites } from '../invites/helpers.js'
import { openStore } from '../../src/store/open.js'
import { BACKENDS, storageUrl, tempDir } from '../store/backends.js'

// Addresses in logs are keyed hashes: the same in every instance on one store and across
// restarts, another under another key, log.hash_key when set; never the local part or number.

const LOCAL = 'zebulon.quux'
const EMAIL = `${LOCAL}@evil.example`
const NUMBER = '447700900123'
const POLICY = { register: { policy: { allowed: true, threepid: { email: { domain: { blacklist: ['evil.example'] } }, msisdn: { pattern: { blacklist: ['44\\d+'] } } } } } }
type Test = Parameters<Parameters<typeof t.test>[1]>[0]

/** HMAC-SHA-256 of "<medium>\0<part>", written out here from the doc, not taken from src/ */
const hmac = (key: string, medium: string, part: string): string => createHmac('sha256', key).update(`${medium}\0${part}`).digest('hex').slice(0, 12)

async function start (t: Test, url: string, hashKey?: string): Promise<Started> {
  const hs = await startHomeserver(t)
  return await startRegguard(t, hs.url, { ...POLICY, storage: { url }, admin: { token: ADMIN_TOKEN }, log: hashKey === undefined ? {} : { hash_key: hashKey } })
}

/** A denied requestToken for the email and for the number; the addresses their decisions logged. */
async function logged (rg: Started): Promise<{ email: unknown, msisdn: unknown }> {
  const before = rg.logs.length
  await rawPost(rg.port, '/_matrix/client/v3/register/email/requestToken', JSON.stringify({ client_secret: 'cs', email: EMAIL, send_attempt: 1 }), { 'Content-Type': 'application/json' })
  await rawPost(rg.port, '/_matrix/client/v3/register/msisdn/requestToken', JSON.stringify({ client_secret: 'cs', country: 'GB', phone_number: '07700 900123', send_attempt: 1 }), { 'Content-Type': 'application/json' })
  const decisions = rg.logs.slice(before).filter((l) => l.msg === 'policy decision')
  return { email: decisions.find((l) => l.medium === 'email')?.address, msisdn: decisions.find((l) => l.medium === 'msisdn')?.address }
}

for (const backend of BACKENDS) {
  t.test(`${backend}: one store, one key: every instance and restart hashes alike; another store, another key`, async (t) => {
    const url = storageUrl(t, backend)
    const a = await start(t, url)
    const b = await start(t, url)
    const fromA = await logged(a)
    t.match(fromA, { email: /^[0-9a-f]{12}@evil\.example$/, msisdn: /^msisdn:[0-9a-f]{12}$/ })
    t.same(await logged(b), fromA, 'a second instance on the store')
    // started after the key was made: it can only have read it from the store, as after a restart
    const later = await start(t, url)
    t.same(await logged(later), fromA, 'an instance started later')

    // the key is the one kept in the store
    const store = await openStore(url)
    t.teardown(() => store.close())
    const key = await store.secret('log.hash_key', () => t.fail('no key was stored') as unknown as string)
    t.ok(key.length >= 32, 'a generated key of some length')
    t.same(fromA, { email: `${hmac(key, 'email', LOCAL)}@evil.example`, msisdn: `msisdn:${hmac(key, 'msisdn', NUMBER)}` })

    const other = await start(t, storageUrl(t, backend))
    const fromOther = await logged(other)
    t.not(fromOther.email, fromA.email, 'another store: another email hash')
    t.not(fromOther.msisdn, fromA.msisdn, 'another store: another number hash')
  })
}

t.test('a configured log.hash_key wins over the stored one, on every store', async (t) => {
  const KEY = 'operator-chosen-key'
  const expected = { email: `${hmac(KEY, 'email', LOCAL)}@evil.example`, msisdn: `msisdn:${hmac(KEY, 'msisdn', NUMBER)}` }
  const url = `sqlite://${join(tempDir(t), 'a.sqlite')}`
  t.same(await logged(await start(t, url)), await logged(await start(t, url)), 'the stored key first')
  t.same(await logged(await start(t, url, KEY)), expected, 'then the configured one, on the same store')
  t.same(await logged(await start(t, `sqlite://${join(tempDir(t), 'b.sqlite')}`, KEY)), expected, 'and on another store')
})

t.test('no log line holds the local part or the number', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { register: { policy: { ...POLICY.register.policy, require_3pid: true } }, admin: { token: ADMIN_TOKEN }, log: { requests: true } })
  await logged(rg)
  // an accepted room invite from a local user is recorded (and logged), an admin invite too
  hs.answerWhoami()
  hs.respond(() => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' }))
  const invite = JSON.stringify({ id_server: 'id.example.org', id_access_token: 'x', medium: 'email', address: `${LOCAL}.invited@example.org` })
  t.equal((await rawPost(rg.port, '/_matrix/client/v3/rooms/%21abc%3Aexample.org/invite', invite, { 'Content-Type': 'application/json', Authorization: 'Bearer inviter' })).status, 200)
  await eventually(async () => (await listInvites(rg.adminUrl))[0])
  await addInvite(rg.adminUrl, 'msisdn', `+${NUMBER}`)
  await addInvite(rg.adminUrl, 'email', `${LOCAL}.admin@example.org`)
  // the threepid_checker answer, and /register refusals
  await request(`${rg.adminUrl}/_regguard/v1/threepid_check?medium=email&address=${encodeURIComponent(EMAIL)}`).then(async (r) => await r.body.text())
  await rawPost(rg.port, '/_matrix/client/v3/register?kind=guest', '{}', { 'Content-Type': 'application/json' })
  await rawPost(rg.port, '/_matrix/client/v3/register', JSON.stringify({ auth: { type: 'm.login.email.identity', threepid_creds: { sid: 's', client_secret: 'cs' } } }), { 'Content-Type': 'application/json' })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const messages = new Set(rg.logs.map((l) => l.msg))
  for (const m of ['policy decision', 'invite recorded', 'invite added through the admin API', 'registration refused']) t.ok(messages.has(m), `logged: ${m}`)
  const all = JSON.stringify(rg.logs)
  for (const secret of [LOCAL, NUMBER, '7700900123', '900123']) t.notOk(all.includes(secret), `${secret} in no log line`)
})
