import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { storageUrl } from '../store/backends.js'
import { ADMIN_TOKEN, addInvite, adminCall } from './helpers.js'

// Several regguard processes share one PostgreSQL: what one records, the others use at once.

t.test('an invite added through instance A allows a requestToken through instance B at once', async (t) => {
  const hs = await startHomeserver(t)
  // invites teach only with a known inviter (issue 8): the stand-in names one for each token
  hs.answerWhoami()
  const url = storageUrl(t, 'postgres')
  const config = { admin: { token: ADMIN_TOKEN }, storage: { url }, register: { policy: { allowed: false } } }
  const a = await startRegguard(t, hs.url, config)
  const b = await startRegguard(t, hs.url, config)
  const send = (port: number, email: string) => rawPost(port, '/_matrix/client/v3/register/email/requestToken', JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 }))

  t.equal((await send(b.port, 'shared@example.com')).status, 403, 'denied on B before the invite')
  const inv = await addInvite(a.adminUrl, 'email', 'shared@example.com')
  t.equal((await send(b.port, 'shared@example.com')).status, 200, 'allowed on B right after A answered')
  t.equal(hs.received.length, 1)

  // and back: B revokes, A stops allowing
  t.equal((await adminCall(b.adminUrl, 'DELETE', `/_regguard/admin/v1/invites/${inv.id}`)).status, 200)
  t.equal((await send(a.port, 'shared@example.com')).status, 403, 'revoked on B, denied on A')
  const listed = await adminCall(b.adminUrl, 'GET', '/_regguard/admin/v1/invites')
  t.equal(listed.body.invites.length, 1, 'one list for both')
})

t.test('an invite learned from traffic through A allows a requestToken through B', async (t) => {
  const hs = await startHomeserver(t)
  // invites teach only with a known inviter (issue 8): the stand-in names one for each token
  hs.answerWhoami()
  const url = storageUrl(t, 'postgres')
  const config = { storage: { url }, register: { policy: { allowed: false } } }
  const a = await startRegguard(t, hs.url, config)
  const b = await startRegguard(t, hs.url, config)
  t.equal((await rawPost(a.port, '/_matrix/client/r0/rooms/!r:x/invite', JSON.stringify({ medium: 'email', address: 'friend@example.com' }), { Authorization: 'Bearer inviter' })).status, 200)
  let status = 0
  for (let i = 0; i < 100 && status !== 200; i++) {
    status = (await rawPost(b.port, '/_matrix/client/v3/register/email/requestToken', JSON.stringify({ client_secret: 'cs', email: 'friend@example.com', send_attempt: 1 }))).status
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.equal(status, 200)
})
