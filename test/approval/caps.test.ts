import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { startRegguard } from '../helpers/regguard.js'
import { post } from '../helpers/register.js'
import { startWebhookReceiver } from '../helpers/webhook-receiver.js'

// A flood of access requests stays within register.approval.per_ip_per_hour and .per_hour:
// past a cap the client gets the ordinary denial and nothing is recorded or notified. Clients
// are told apart by X-Forwarded-For (the test client is a trusted loopback proxy).

const TOKEN = 'admin-secret'

async function ask (port: number, email: string, ip: string): Promise<string> {
  const r = await post(port, '/_matrix/client/v3/register/email/requestToken', { client_secret: 'cs', email, send_attempt: 1 }, { 'X-Forwarded-For': ip })
  if (r.status !== 403) throw new Error(`expected 403, got ${r.status}`)
  return r.body.error as string
}

async function pendingCount (adminUrl: string): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`${adminUrl}/_regguard/admin/v1/access-requests?limit=1000`, { headers: { Authorization: `Bearer ${TOKEN}` } })
  return ((await res.json()) as { access_requests: Array<Record<string, unknown>> }).access_requests
}

t.test('a flood of requests stays within the caps', async (t) => {
  const hs = await startHomeserver(t)
  const hook = await startWebhookReceiver('s', t)
  const rg = await startRegguard(t, hs.url, {
    admin: { token: TOKEN },
    register: { approval: { enabled: true, per_ip_per_hour: 3, per_hour: 10 } },
    notify: { webhook: hook.url, webhook_secret: 's' }
  })
  const message = rg.config.settings.register.approval.message

  // one client, many addresses: three recorded
  const answers: string[] = []
  for (let i = 0; i < 40; i++) answers.push(await ask(rg.port, `flood${i}@example.net`, '203.0.113.7'))
  t.equal(answers.filter((a) => a === message).length, 3, 'three answered as recorded')
  t.equal((await pendingCount(rg.adminUrl)).length, 3)
  // an address already pending asks again: still recorded, no cap spent
  t.equal(await ask(rg.port, 'flood0@example.net', '203.0.113.7'), message)

  // many clients, one address each: the total cap holds
  const many: string[] = []
  for (let i = 0; i < 60; i++) many.push(await ask(rg.port, `wide${i}@example.net`, `198.51.100.${i + 1}`))
  t.equal(many.filter((a) => a === message).length, 7, 'the rest of the ten an hour')
  const rows = await pendingCount(rg.adminUrl)
  t.equal(rows.length, 10, 'ten requests in all')
  t.ok(rows.every((r) => r.state === 'pending'))

  await hook.waitFor(10)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(hook.received.length, 10, 'one notice per recorded request, none for the refused ones')
  t.equal(hs.receivedMatching('requestToken').length, 0, 'nothing reached the homeserver')
})

t.test('IPv6 clients of one network share the per-IP cap', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: TOKEN }, register: { approval: { enabled: true, per_ip_per_hour: 2, per_hour: 0 } } })
  for (let i = 1; i <= 6; i++) await ask(rg.port, `v6-${i}@example.net`, `2001:db8::${i}`)
  t.equal((await pendingCount(rg.adminUrl)).length, 2)
  await ask(rg.port, 'v6-other@example.net', '2001:db8:1::1')
  t.equal((await pendingCount(rg.adminUrl)).length, 3, 'another /64 has a cap of its own')
})

t.test('counted in the shared store (register.rate_limit.shared) just the same', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: TOKEN }, register: { rate_limit: { shared: true }, approval: { enabled: true, per_ip_per_hour: 2, per_hour: 0 } } })
  for (let i = 1; i <= 5; i++) await ask(rg.port, `shared-${i}@example.net`, '192.0.2.9')
  t.equal((await pendingCount(rg.adminUrl)).length, 2)
})
