import { randomBytes } from 'node:crypto'
import t from 'tap'
import { rawPost } from '../helpers/raw-http.js'
import { emailBody, errcode, policedArrivals, POLICY, safeWindow, setup, tokenPath, uniqueIp, DENIED_EMAIL } from './helpers.js'

// Rate limits on the policed endpoints, per client IP and per canonical address, counted in
// memory: past the limit the answer is 429 M_LIMIT_EXCEEDED with retry_after_ms and Retry-After,
// and the homeserver is not asked. Client IPs come from X-Forwarded-For (loopback is trusted).

const TOKEN = tokenPath('v3', 'register', 'email')

function limited (perIp: number, perAddress: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const window = safeWindow()
  return { ...POLICY, register: { ...POLICY.register, rate_limit: { enabled: true, per_ip: { max: perIp, window }, per_address: { max: perAddress, window }, ...extra } } }
}

function send (port: number, ip: string, email: string, path = TOKEN): ReturnType<typeof rawPost> {
  return rawPost(port, path, emailBody(email, 'cs' + randomBytes(4).toString('hex')), { 'Content-Type': 'application/json', 'X-Forwarded-For': ip })
}

type Res = Awaited<ReturnType<typeof rawPost>>
function assertLimited (t: { equal: (...a: unknown[]) => unknown, ok: (...a: unknown[]) => unknown }, res: Res, label: string): void {
  t.equal(res.status, 429, `${label}: 429`)
  t.equal(errcode(res), 'M_LIMIT_EXCEEDED', label)
  const ms = (JSON.parse(res.body) as { retry_after_ms?: unknown }).retry_after_ms
  t.ok(typeof ms === 'number' && ms > 0 && ms <= 24 * 3_600_000, `${label}: retry_after_ms ${String(ms)}`)
  t.equal(res.headers['retry-after'], String(Math.ceil((ms as number) / 1000)), `${label}: Retry-After in seconds`)
}

t.test('per client IP', async (t) => {
  const { hs, rg } = await setup(t, limited(3, 0))
  const ip = uniqueIp()
  for (let i = 0; i < 3; i++) t.equal((await send(rg.port, ip, `user${i}@example.org`)).status, 200, `request ${i + 1} passes`)
  t.equal(policedArrivals(hs).length, 3)
  assertLimited(t, await send(rg.port, ip, 'user9@example.org'), 'the fourth')
  assertLimited(t, await send(rg.port, ip, DENIED_EMAIL), 'a denied address is counted too')
  assertLimited(t, await send(rg.port, ip, 'user9@example.org', tokenPath('r0', 'account/3pid', 'msisdn')), 'another policed endpoint')
  t.equal(policedArrivals(hs).length, 3, 'the homeserver was not asked past the limit')
  t.equal((await send(rg.port, uniqueIp(), 'user9@example.org')).status, 200, 'another IP is not limited')
  const other = await rawPost(rg.port, '/_matrix/client/v3/login', '{}', { 'X-Forwarded-For': ip })
  t.equal(other.status, 200, 'other paths are not limited')
})

t.test('per canonical address, across spellings, IPs and endpoints', async (t) => {
  const { hs, rg } = await setup(t, limited(0, 2))
  t.equal((await send(rg.port, uniqueIp(), 'Carol@Example.org')).status, 200)
  t.equal((await send(rg.port, uniqueIp(), ' carol@EXAMPLE.org. ', tokenPath('r0', 'account/3pid', 'email'))).status, 200)
  t.equal(policedArrivals(hs).length, 2)
  assertLimited(t, await send(rg.port, uniqueIp(), 'carol@example.org'), 'the third, from yet another IP')
  assertLimited(t, await send(rg.port, uniqueIp(), 'CAROL@example.ORG', tokenPath('unstable', 'register', 'email')), 'another spelling and endpoint')
  t.equal(policedArrivals(hs).length, 2, 'the homeserver was not asked past the limit')
  t.equal((await send(rg.port, uniqueIp(), 'dave@example.org')).status, 200, 'another address is not limited')
})

t.test('enabled: false switches them off', async (t) => {
  const { hs, rg } = await setup(t, limited(1, 1, { enabled: false }))
  const ip = uniqueIp()
  for (let i = 0; i < 5; i++) t.equal((await send(rg.port, ip, 'erin@example.org')).status, 200, `request ${i + 1}`)
  t.equal(policedArrivals(hs).length, 5)
})

t.test('in memory, two instances count apart', async (t) => {
  const { hs, rg } = await setup(t, limited(0, 1))
  const { rg: rg2 } = await setup(t, { ...limited(0, 1), homeserver: { url: hs.url } })
  t.equal((await send(rg.port, uniqueIp(), 'fay@example.org')).status, 200)
  t.equal((await send(rg2.port, uniqueIp(), 'fay@example.org')).status, 200, 'the second instance has its own count')
  t.equal((await send(rg.port, uniqueIp(), 'fay@example.org')).status, 429)
})
