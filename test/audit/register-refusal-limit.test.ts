import t from 'tap'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// /register refusals count towards register.rate_limit.per_ip: a client refused again and again
// is answered 429 at /register and at the requestToken endpoints until its window ends, and its
// requests are neither judged nor recorded meanwhile.

const GUEST = '/_matrix/client/v3/register?kind=guest'
const TOKEN = '/_matrix/client/v3/register/email/requestToken'

t.test('refusals at /register count towards the per-IP limit', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, {
    register: { policy: { require_3pid: true, allowed: true }, rate_limit: { enabled: true, per_ip: { max: 5, window: 60_000 }, per_address: { max: 0 } } }
  })
  const statuses: number[] = []
  for (let i = 0; i < 8; i++) statuses.push((await rawPost(rg.port, GUEST, '{}')).status)
  t.same(statuses, [403, 403, 403, 403, 403, 403, 429, 429], 'the sixth refusal is past the limit; from then on 429')
  const limited = await rawPost(rg.port, GUEST, '{}')
  t.equal(limited.status, 429)
  t.equal(JSON.parse(limited.body).errcode, 'M_LIMIT_EXCEEDED')
  t.ok(Number(limited.headers['retry-after']) > 0, 'with Retry-After')
  const token = await rawPost(rg.port, TOKEN, JSON.stringify({ client_secret: 'cs', email: 'a@example.org', send_attempt: 1 }))
  t.equal(token.status, 429, 'the same count limits the requestToken endpoints')
  t.equal(hs.received.length, 0, 'nothing reached the homeserver')
  await rg.app.context.audit.flush()
  const rows = await rg.app.context.store.decisions.list({ limit: 100 })
  t.equal(rows.decisions.reduce((n, d) => n + d.count, 0), 6, 'only the judged requests are in the history')
  const metrics = await (await request(`${rg.adminUrl}/metrics`)).body.text()
  t.match(metrics, /regguard_rate_limited_total\{limit="ip"\} 4/)
})

t.test('rate limits off: refusals limit nothing', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { register: { policy: { require_3pid: true } } })
  for (let i = 0; i < 30; i++) t.equal((await rawPost(rg.port, GUEST, '{}')).status, 403)
})
