import t from 'tap'
import { defaultReply, startHomeserver } from '../helpers/homeserver.js'
import { startRegguard } from '../helpers/regguard.js'
import { post } from '../helpers/register.js'
import { startWebhookReceiver } from '../helpers/webhook-receiver.js'

// Which /register answers make a registration notice: a user's sign-up answered 200 with a
// user_id (with or without a 3PID stage), not an application service's registration (it carries
// its access token), not a 401 or an error.

t.test('registration notices', async (t) => {
  const hs = await startHomeserver(t)
  let n = 0
  hs.respond((r) => {
    if (!r.url.startsWith('/_matrix/client/v3/register')) return defaultReply(r)
    const body = JSON.parse(r.body.toString()) as { username?: string, auth?: { type?: string } }
    if (body.auth === undefined && body.username === 'flows') return { status: 401, body: JSON.stringify({ session: 's', flows: [{ stages: ['m.login.dummy'] }] }) }
    if (body.username === 'taken') return { status: 400, body: '{"errcode":"M_USER_IN_USE","error":"taken"}' }
    return { status: 200, body: JSON.stringify({ user_id: `@${body.username ?? `u${++n}`}:localhost` }), headers: { 'Content-Type': 'application/json' } }
  })
  const hook = await startWebhookReceiver('k', t)
  const rg = await startRegguard(t, hs.url, { notify: { webhook: hook.url, webhook_secret: 'k' } })

  t.equal((await post(rg.port, '/_matrix/client/v3/register', { username: 'flows' })).status, 401)
  t.equal((await post(rg.port, '/_matrix/client/v3/register', { username: 'taken', auth: { type: 'm.login.dummy', session: 's' } })).status, 400)
  t.equal((await post(rg.port, '/_matrix/client/v3/register', { type: 'm.login.application_service', username: 'bridge_puppet' }, { Authorization: 'Bearer as-token' })).status, 200)
  t.equal((await post(rg.port, '/_matrix/client/v3/register?access_token=as-token', { type: 'm.login.application_service', username: 'bridge_other' })).status, 200)
  t.equal((await post(rg.port, '/_matrix/client/v3/register', { username: 'dummy', auth: { type: 'm.login.dummy', session: 's' } })).status, 200)

  const r = await hook.waitFor(1)
  t.ok(r.signatureValid)
  t.match(r.json, { event: 'registration', user_id: '@dummy:localhost', threepid: null, rule: /no 3PID stage/ })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(hook.received.length, 1, 'only the user sign-up answered 200')
})
