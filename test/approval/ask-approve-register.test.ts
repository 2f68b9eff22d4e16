import t from 'tap'
import { startHomeserver, defaultReply, type Homeserver } from '../helpers/homeserver.js'
import { startRegguard } from '../helpers/regguard.js'
import { emailStage, post, requestEmailToken } from '../helpers/register.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { startWebhookReceiver } from '../helpers/webhook-receiver.js'

// Issue 25 end to end against the stand-ins: a denied address asks to join, an operator
// approves it through the admin API, the applicant's mail arrives with the link, the address
// then registers, and the registration's notice reaches the room and the webhook, signed.

const TOKEN = 'admin-secret'
const ROOM = '!ops:localhost'
const SECRET = 'hook-secret'
const LINK = 'https://app.element.io/#/register'

function homeserverAnswering (hs: Homeserver): void {
  hs.respond((r) => {
    if (r.method === 'PUT' && r.url.includes('/send/m.room.message/')) return { status: 200, body: JSON.stringify({ event_id: '$e' }), headers: { 'Content-Type': 'application/json' } }
    if (r.url.startsWith('/_matrix/client/v3/register') && !r.url.includes('requestToken')) {
      return { status: 200, body: JSON.stringify({ user_id: '@newcomer:localhost', access_token: 'x', device_id: 'D' }), headers: { 'Content-Type': 'application/json' } }
    }
    return defaultReply(r)
  })
}

async function admin (url: string, method: string, path: string, body?: unknown): Promise<{ status: number, json: any }> {
  const res = await fetch(`${url}/_regguard/admin/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })
  return { status: res.status, json: await res.json() }
}

const roomSends = (hs: Homeserver): Array<{ url: string, body: any, auth: string | undefined }> =>
  hs.received.filter((r) => r.method === 'PUT' && r.url.includes('/send/m.room.message/')).map((r) => ({ url: r.url, body: JSON.parse(r.body.toString()), auth: r.headers.authorization }))

async function until (what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('ask, approve, mail, register, notices', async (t) => {
  const hs = await startHomeserver(t)
  homeserverAnswering(hs)
  const smtp = await startSmtpSink(t)
  const hook = await startWebhookReceiver(SECRET, t)
  const rg = await startRegguard(t, hs.url, {
    admin: { token: TOKEN },
    register: {
      policy: { allowed: false, threepid: { email: { domain: { blacklist: ['*evil.example'] } } } },
      approval: { enabled: true, link: LINK }
    },
    notify: {
      smtp: { host: smtp.host, port: smtp.port, tls: 'none', from: 'ops@example.org' },
      matrix: { room_id: ROOM, access_token: 'bot-token' },
      webhook: hook.url,
      webhook_secret: SECRET
    }
  })

  // the default rule denies: a request is recorded, the client is told so, nothing is forwarded
  const asked = await requestEmailToken(rg.port, 'Newcomer@Example.com', 'secret1')
  t.equal(asked.status, 403)
  t.equal(asked.body.errcode, 'M_THREEPID_DENIED')
  t.equal(asked.body.error, rg.config.settings.register.approval.message)
  const again = await requestEmailToken(rg.port, 'newcomer@example.com', 'secret2')
  t.equal(again.body.error, rg.config.settings.register.approval.message, 'asking again gets the same answer')
  t.equal(hs.receivedMatching('requestToken').length, 0, 'no requestToken reached the homeserver')

  // a blacklisted address is never queued
  const black = await requestEmailToken(rg.port, 'x@evil.example', 'secret3')
  t.equal(black.status, 403)
  t.not(black.body.error, rg.config.settings.register.approval.message)

  const listed = await admin(rg.adminUrl, 'GET', '/access-requests')
  t.equal(listed.status, 200)
  t.equal(listed.json.access_requests.length, 1, 'one pending request for the address, none for the blacklisted one')
  const req = listed.json.access_requests[0]
  t.match(req, { medium: 'email', address: 'newcomer@example.com', state: 'pending', status: 'pending', count: 2, client_ip: '127.0.0.1' })
  t.equal(listed.json.applicant_mail, true)

  // the operators heard of the request, in the room and on the webhook
  const requestHook = await hook.waitFor(1)
  t.ok(requestHook.signatureValid, 'the webhook signature checks out')
  t.match(requestHook.json, { event: 'access_request', id: req.id, medium: 'email' })
  await until('the room notice of the request', () => roomSends(hs).length >= 1)
  t.match(roomSends(hs)[0], { url: new RegExp(`^/_matrix/client/v3/rooms/${encodeURIComponent(ROOM).replace(/[!]/g, '\\$&')}/send/m\\.room\\.message/`), auth: 'Bearer bot-token', body: { msgtype: 'm.text', body: /Access request/ } })

  const approved = await admin(rg.adminUrl, 'POST', `/access-requests/${req.id as string}/approve`, { by: '@op:localhost' })
  t.equal(approved.status, 200)
  t.equal(approved.json.applicant_told, true)
  t.match(approved.json.invite, { medium: 'email', address: 'newcomer@example.com', source: 'approval', inviter: '@op:localhost' })
  t.match(approved.json.access_request, { state: 'approved', decided_by: '@op:localhost', applicant_told: 'sent' })
  const twice = await admin(rg.adminUrl, 'POST', `/access-requests/${req.id as string}/approve`, {})
  t.equal(twice.status, 404, 'an approved request cannot be approved again')

  const mail = await smtp.waitFor(1)
  t.same(mail.to, ['newcomer@example.com'])
  t.equal(mail.from, 'ops@example.org')
  t.match(mail.data, LINK)
  t.match(mail.data, /Subject: Your request to join was approved/)

  // the address now has an invite: its requestToken goes through, and it registers
  const token = await requestEmailToken(rg.port, 'newcomer@example.com', 'secret4')
  t.equal(token.status, 200)
  const sid = token.body.sid as string
  const registered = await post(rg.port, '/_matrix/client/v3/register', { username: 'newcomer', password: 'pw', ...emailStage(sid, 'secret4', 'uia1') })
  t.equal(registered.status, 200)
  t.equal(registered.body.user_id, '@newcomer:localhost')

  const regHook = await hook.waitFor(2)
  t.ok(regHook.signatureValid)
  t.match(regHook.json, { event: 'registration', user_id: '@newcomer:localhost', threepid: { medium: 'email' }, rule: /^invite \d+ \(approval\)$/ })
  t.notMatch(JSON.stringify(regHook.json), 'newcomer@', 'the address is redacted as in the logs')
  await until('the room notice of the registration', () => roomSends(hs).length >= 2)
  const notice = roomSends(hs)[1]
  t.match(notice?.body.body, /@newcomer:localhost/)
  t.not(roomSends(hs)[0]?.url, notice?.url, 'each notice has its own transaction id')

  const ready = await fetch(`${rg.adminUrl}/ready`).then(async (r) => await r.json()) as any
  t.match(ready.notify, { matrix: { sent: 2, failing: false }, webhook: { sent: 2, failing: false } })
  const metrics = await fetch(`${rg.adminUrl}/metrics`).then(async (r) => await r.text())
  t.match(metrics, /regguard_notifications_total\{channel="webhook",result="sent"\} 2/)
})

t.test('a rejected address is not queued again, and gets the ordinary denial', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: TOKEN }, register: { approval: { enabled: true } } })
  await requestEmailToken(rg.port, 'someone@example.net', 's1')
  const [req] = (await admin(rg.adminUrl, 'GET', '/access-requests')).json.access_requests
  const rejected = await admin(rg.adminUrl, 'POST', `/access-requests/${req.id as string}/reject`, { reason: 'not a member', by: '@op:localhost' })
  t.equal(rejected.status, 200)
  t.match(rejected.json.access_request, { state: 'rejected', reason: 'not a member', decided_by: '@op:localhost' })
  const after = await requestEmailToken(rg.port, 'someone@example.net', 's2')
  t.equal(after.status, 403)
  t.not(after.body.error, rg.config.settings.register.approval.message, 'the ordinary denial')
  const all = (await admin(rg.adminUrl, 'GET', '/access-requests')).json.access_requests
  t.equal(all.length, 1, 'no new request')

  // without SMTP the API says the applicant was not told
  await requestEmailToken(rg.port, 'other@example.net', 's3')
  const pending = (await admin(rg.adminUrl, 'GET', '/access-requests?state=pending')).json
  t.equal(pending.applicant_mail, false)
  const ok = await admin(rg.adminUrl, 'POST', `/access-requests/${pending.access_requests[0].id as string}/approve`)
  t.equal(ok.status, 200)
  t.equal(ok.json.applicant_told, false)
  t.match(ok.json.applicant_not_told_because, /notify\.smtp\.host/)
  t.equal(ok.json.invite.inviter, null)

  t.equal((await admin(rg.adminUrl, 'POST', '/access-requests/999/approve')).status, 404)
  t.equal((await admin(rg.adminUrl, 'POST', `/access-requests/${req.id as string}/reject`, { reason: 5 })).status, 400)
  const noToken = await fetch(`${rg.adminUrl}/_regguard/admin/v1/access-requests`)
  t.equal(noToken.status, 401)
})

t.test('off by default: the ordinary denial, nothing recorded', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: TOKEN } })
  const r = await requestEmailToken(rg.port, 'someone@example.net', 's1')
  t.equal(r.status, 403)
  t.not(r.body.error, rg.config.settings.register.approval.message)
  t.same((await admin(rg.adminUrl, 'GET', '/access-requests')).json.access_requests, [])
})
