import { createRequire } from 'node:module'
import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { phoneLib, unloadPhoneLib } from '../../src/synapse/msisdn.js'

// What regguard loads only when it is used: nothing of it at start-up
// with a SQLite store and no Redis, and the first request that needs it still judged right.
// Runs in this test file's own process, which imports none of these packages itself.

const loadedPackages = (): string[] => {
  const cache = createRequire(import.meta.url).cache
  return [...new Set(Object.keys(cache).map((k) => /node_modules\/((@[^/]+\/)?[^/]+)\//.exec(k)?.[1] ?? ''))].filter((p) => p !== '')
}

const policy = {
  register: { policy: { allowed: false, threepid: { msisdn: { pattern: { whitelist: ['44\\d+'] } } } } }
}
const TOKEN = '/_matrix/client/v3/register/msisdn/requestToken'
const msisdn = (port: number, country: string, phone: string): ReturnType<typeof rawPost> =>
  rawPost(port, TOKEN, JSON.stringify({ client_secret: 's', country, phone_number: phone, send_attempt: 1 }), { 'Content-Type': 'application/json' })

t.test('the default store and rate limiter load no PostgreSQL, Redis or DNS client; the first phone numbers are judged right', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, policy)
  const atStart = loadedPackages()
  // libphonenumber-js is imported through its entry with the code that reads phone numbers (issue
  // 21: no createRequire of packages), so it is loaded from the start
  for (const p of ['pg', 'pg-pool', 'ioredis', 'dns-packet']) t.notOk(atStart.includes(p), `${p} not loaded`)
  // concurrent first requests: allowed (44...) and denied (1...) alike, none failed
  const answers = await Promise.all([
    msisdn(rg.port, 'GB', '07700 900123'),
    msisdn(rg.port, 'US', '(201) 555-0123'),
    msisdn(rg.port, 'GB', '+44 7700 900456'),
    msisdn(rg.port, '', '+1 201 555 0124')
  ])
  t.same(answers.map((a) => a.status), [200, 403, 200, 403])
  t.same(hs.received.map((r) => (JSON.parse(r.body.toString()) as { phone_number: string }).phone_number).sort(), ['+44 7700 900456', '07700 900123'])
})

t.test('a phone number read with a library that cannot load: 500 and a log line, the process goes on, the next request loads it', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, policy)
  const real = phoneLib.load
  t.teardown(() => { phoneLib.load = real })
  unloadPhoneLib()
  phoneLib.load = () => { throw new Error('Cannot find module libphonenumber-js') }
  const failed = await msisdn(rg.port, 'GB', '07700 900123')
  t.equal(failed.status, 500)
  t.match(JSON.parse(failed.body), { errcode: 'M_UNKNOWN' })
  t.ok(rg.logs.some((l) => JSON.stringify(l).includes('cannot load libphonenumber-js, needed to read phone numbers')), 'the cause is logged')
  t.equal(hs.received.length, 0, 'nothing forwarded unjudged')
  phoneLib.load = real
  const again = await msisdn(rg.port, 'GB', '07700 900123')
  t.equal(again.status, 200, 'loaded by the next request and judged')
  t.equal(hs.received.length, 1)
})
