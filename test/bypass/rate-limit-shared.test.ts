import { randomBytes } from 'node:crypto'
import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { BACKENDS, storageUrl } from '../store/backends.js'
import { emailBody, errcode, policedArrivals, POLICY, safeWindow, tokenPath, uniqueIp } from './helpers.js'

// rate_limit.shared (the store named by storage.url) and rate_limit.redis_url: two regguard
// instances count together, per IP and per address, and the homeserver is not asked past the limit.

const TOKEN = tokenPath('v3', 'register', 'email')

function config (perIp: number, perAddress: number, extra: Record<string, unknown>): Record<string, unknown> {
  const window = safeWindow()
  return { ...POLICY, register: { ...POLICY.register, rate_limit: { enabled: true, per_ip: { max: perIp, window }, per_address: { max: perAddress, window }, ...extra } } }
}

function send (port: number, ip: string, email: string): ReturnType<typeof rawPost> {
  return rawPost(port, TOKEN, emailBody(email, 'cs' + randomBytes(4).toString('hex')), { 'Content-Type': 'application/json', 'X-Forwarded-For': ip })
}

const SHARINGS: Array<[string, (t: Parameters<Parameters<typeof t.test>[1]>[0]) => Record<string, unknown>]> = [
  ...BACKENDS.map((b): [string, (tt: Parameters<Parameters<typeof t.test>[1]>[0]) => Record<string, unknown>] => [`shared store (${b})`, (tt) => ({ storage: { url: storageUrl(tt, b) }, rl: { shared: true } })]),
  ['redis_url', () => ({ rl: { redis_url: 'redis://127.0.0.1:6379' } })]
]

for (const [name, make] of SHARINGS) {
  t.test(`${name}: two instances count together`, async (t) => {
    const hs = await startHomeserver(t)
    const { storage, rl } = make(t) as { storage?: unknown, rl: Record<string, unknown> }
    // keys unique to this run: Redis and the store outlive it
    const run = randomBytes(6).toString('hex')
    const ip = uniqueIp()

    t.test('per address', async (t) => {
      const c = { ...config(0, 2, rl), ...(storage !== undefined ? { storage } : {}) }
      const a = await startRegguard(t, hs.url, c)
      const b = await startRegguard(t, hs.url, c)
      const before = policedArrivals(hs).length
      const email = `addr-${run}@example.org`
      t.equal((await send(a.port, uniqueIp(), email)).status, 200, 'A')
      t.equal((await send(b.port, uniqueIp(), email.toUpperCase())).status, 200, 'B')
      const third = await send(a.port, uniqueIp(), email)
      t.equal(third.status, 429, 'A again: the limit counts both')
      t.equal(errcode(third), 'M_LIMIT_EXCEEDED')
      t.ok(Number(third.headers['retry-after']) > 0, 'Retry-After')
      t.equal((await send(b.port, uniqueIp(), email)).status, 429, 'B again')
      t.equal(policedArrivals(hs).length - before, 2, 'the homeserver was asked twice only')
    })

    t.test('per IP', async (t) => {
      const c = { ...config(2, 0, rl), ...(storage !== undefined ? { storage } : {}) }
      const a = await startRegguard(t, hs.url, c)
      const b = await startRegguard(t, hs.url, c)
      const before = policedArrivals(hs).length
      t.equal((await send(a.port, ip, `ip1-${run}@example.org`)).status, 200, 'A')
      t.equal((await send(b.port, ip, `ip2-${run}@example.org`)).status, 200, 'B')
      const third = await send(b.port, ip, `ip3-${run}@example.org`)
      t.equal(third.status, 429, 'B again: the limit counts both')
      t.type((JSON.parse(third.body) as { retry_after_ms?: unknown }).retry_after_ms, 'number')
      t.equal((await send(a.port, uniqueIp(), `ip4-${run}@example.org`)).status, 200, 'another IP passes')
      t.equal(policedArrivals(hs).length - before, 3)
    })
  })
}
