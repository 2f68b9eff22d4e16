import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { freePort } from '../helpers/net.js'
import { startRegguard } from '../helpers/regguard.js'
import { requestEmailToken } from '../helpers/register.js'
import { startWebhookReceiver } from '../helpers/webhook-receiver.js'

// notify.denials through the app: off by default, rate-limited when on, retried when the
// receiver fails; a channel that keeps failing shows on /ready (which stays ready) and in the
// metrics, and never delays the denial itself.

async function until (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

t.test('denials are notified when asked, within notify.denials_per_hour, retried', async (t) => {
  const hs = await startHomeserver(t)
  const hook = await startWebhookReceiver('k', t)
  hook.failNext(1)
  const rg = await startRegguard(t, hs.url, {
    register: { policy: { threepid: { email: { domain: { blacklist: ['*evil.example'] } } } } },
    notify: { webhook: hook.url, webhook_secret: 'k', denials: true, denials_per_hour: 2 }
  })
  for (let i = 0; i < 4; i++) t.equal((await requestEmailToken(rg.port, `u${i}@evil.example`, `c${i}`)).status, 403)
  // the first attempt is refused: its retry comes a second later
  await hook.waitFor(2, 10_000)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(hook.received.length, 2, 'two of four denials notified')
  for (const r of hook.received) {
    t.ok(r.signatureValid)
    t.match(r.json, { event: 'denial', endpoint: 'register', medium: 'email', rule: 'blacklist', client_ip: '127.0.0.1' })
    t.notMatch(r.json.address, /^u\d@/, 'redacted as in the logs')
  }
  const metrics = await fetch(`${rg.adminUrl}/metrics`).then(async (r) => await r.text())
  t.match(metrics, /regguard_notifications_total\{channel="webhook",result="retried"\} 1/)
  t.match(metrics, /regguard_notifications_total\{channel="webhook",result="sent"\} 2/)
  t.match(metrics, /regguard_notifications_total\{channel="webhook",result="rate_limited"\} 2/)
})

t.test('off by default', async (t) => {
  const hs = await startHomeserver(t)
  const hook = await startWebhookReceiver('k', t)
  const rg = await startRegguard(t, hs.url, { notify: { webhook: hook.url } })
  t.equal((await requestEmailToken(rg.port, 'u@example.net', 'c')).status, 403)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(hook.received.length, 0)
})

t.test('a channel that keeps failing shows on /ready and in the metrics', async (t) => {
  const hs = await startHomeserver(t)
  const dead = `http://127.0.0.1:${await freePort()}/hook`
  const rg = await startRegguard(t, hs.url, {
    notify: { webhook: dead, denials: true, attempts: 2, matrix: { room_id: '!r:localhost', access_token: 'bot' } }
  })
  // the homeserver refuses the bot's sends
  hs.respond((r) => r.method === 'PUT' ? { status: 403, body: '{"errcode":"M_FORBIDDEN"}' } : { status: 200, body: '{}' })
  const started = Date.now()
  t.equal((await requestEmailToken(rg.port, 'u@example.net', 'c')).status, 403)
  t.ok(Date.now() - started < 1000, 'the denial did not wait for its notice')
  await until('both channels to give up', async () => {
    const ready = await fetch(`${rg.adminUrl}/ready`).then(async (r) => await r.json()) as { notify?: { webhook?: { failed: number }, matrix?: { failed: number } } }
    return ready.notify?.webhook?.failed === 1 && ready.notify?.matrix?.failed === 1
  })
  const res = await fetch(`${rg.adminUrl}/ready`)
  t.equal(res.status, 200, 'still ready: a notice channel is not the proxy')
  const ready = await res.json() as { notify: Record<string, { failing: boolean, last_error: string }> }
  t.match(ready.notify.webhook, { failing: true, last_error: /fetch failed|ECONNREFUSED/ })
  t.match(ready.notify.matrix, { failing: true, last_error: /403/ })
  t.equal(hs.receivedMatching('/send/m.room.message/').length, 2, 'the room send was tried twice')
  const urls = hs.receivedMatching('/send/m.room.message/').map((r) => r.url)
  t.equal(urls[0], urls[1], 'a retry keeps its transaction id')
  const metrics = await fetch(`${rg.adminUrl}/metrics`).then(async (r) => await r.text())
  t.match(metrics, /regguard_notifications_total\{channel="webhook",result="failed"\} 1/)
  t.match(metrics, /regguard_notifications_total\{channel="matrix",result="failed"\} 1/)
})
