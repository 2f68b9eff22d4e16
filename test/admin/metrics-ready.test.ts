import t from 'tap'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

const policy = {
  admin: { token: 'admintoken' },
  register: {
    policy: { allowed: false, threepid: { email: { domain: { whitelist: ['example.org'], blacklist: ['evil.example'] } } } },
    rate_limit: { enabled: true, per_ip: { max: 0 }, per_address: { max: 1, window: 60000 } }
  }
}
const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const body = (email: string): string => JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 })

function sample (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line)
    if (m === null || m[1] !== name) continue
    const have = m[2] ?? ''
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) return Number(m[3])
  }
  return undefined
}

t.test('GET /metrics counts decisions, upstream latency, rate limits and invites', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, policy)
  t.equal((await rawPost(rg.port, TOKEN, body('eve@evil.example'))).status, 403)
  t.equal((await rawPost(rg.port, TOKEN, body('amy@example.org'))).status, 200)
  t.equal((await rawPost(rg.port, TOKEN, body('amy@example.org'))).status, 429, 'second request for one address in the window')
  const added = await request(`${rg.adminUrl}/_regguard/admin/v1/invites`, { method: 'POST', headers: { authorization: 'Bearer admintoken', 'content-type': 'application/json' }, body: JSON.stringify({ medium: 'email', address: 'zed@elsewhere.example' }) })
  t.equal(added.statusCode, 201)
  await added.body.text()

  const res = await request(`${rg.adminUrl}/metrics`)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain/)
  const text = await res.body.text()
  t.equal(sample(text, 'regguard_policy_decisions_total', { endpoint: 'register', medium: 'email', result: 'deny', rule: 'blacklist' }), 1)
  t.equal(sample(text, 'regguard_policy_decisions_total', { result: 'allow', rule: 'whitelist' }), 1)
  t.equal(sample(text, 'regguard_upstream_response_seconds_count'), 1, 'one request reached the homeserver')
  t.equal(sample(text, 'regguard_rate_limited_total', { limit: 'address' }), 1)
  t.equal(sample(text, 'regguard_invites_recorded_total', { source: 'admin' }), 1)
  t.ok((sample(text, 'regguard_process_cpu_seconds_total') ?? -1) >= 0, 'process metrics')
})

t.test('the homeserver down is counted as an upstream error', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url)
  await hs.close()
  const res = await request(`${rg.url}/_matrix/client/versions`)
  t.equal(res.statusCode, 502)
  await res.body.text()
  const text = await (await request(`${rg.adminUrl}/metrics`)).body.text()
  t.equal(sample(text, 'regguard_upstream_errors_total', { kind: 'unreachable' }), 1)
})

t.test('GET /ready: homeserver reachable and store open; GET /health: alive', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url)
  const ready = await request(`${rg.adminUrl}/ready`)
  t.equal(ready.statusCode, 200)
  t.same(await ready.body.json(), { status: 'ready', homeserver: 'ok', store: 'ok' })
  await hs.close()
  const down = await request(`${rg.adminUrl}/ready`)
  t.equal(down.statusCode, 503)
  t.match(await down.body.json(), { status: 'not ready', homeserver: 'unreachable', store: 'ok' })
  const health = await request(`${rg.adminUrl}/health`)
  t.equal(health.statusCode, 200, 'alive even when not ready')
  await health.body.text()
})
