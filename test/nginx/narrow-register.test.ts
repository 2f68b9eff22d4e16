import t from 'tap'
import { nginxSkipReason, startNginx } from '../helpers/nginx.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { startUiaHomeserver } from '../helpers/uia-homeserver.js'
import { emailStage, POLICY, post, requestEmailToken } from '../helpers/register.js'

// deploy/nginx/regguard-narrow.conf routes /register through regguard: a validation session
// regguard never saw is refused before the homeserver, and the allowed email flow creates an
// account, both through a real nginx.

const skip = nginxSkipReason()

t.test('narrow nginx config: /register goes through regguard', { skip }, async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, POLICY)
  const ng = await startNginx(t, { site: 'narrow', regguardPort: rg.port, synapsePort: hs.port })
  // regguard trusts loopback (nginx) and appends nginx's address to the one nginx set
  const viaRegguard = (xff: unknown): boolean => xff === '127.0.0.1, 127.0.0.1'

  for (const prefix of ['r0', 'v3', 'unstable']) {
    t.test(`${prefix}: unknown creds are refused, the homeserver never sees them`, async (t) => {
      hs.validated.set(`direct-${prefix}`, { client_secret: 'cs', address: 'mallory@evil.example' })
      const before = hs.receivedMatching('/register').length
      const res = await post(ng.port, `/_matrix/client/${prefix}/register`, { username: 'mallory', ...emailStage(`direct-${prefix}`, 'cs') })
      t.equal(res.status, 403)
      t.equal(res.body.errcode, 'M_THREEPID_DENIED')
      t.equal(hs.receivedMatching('/register').length, before, 'the homeserver never saw it')
      t.same(hs.accounts, [])
      t.ok(rg.logs.some((l) => l.msg === 'registration refused' && l.endpoint === 'register'), 'regguard refused it')
    })
  }

  t.test('the allowed email flow creates an account', async (t) => {
    const first = await post(ng.port, '/_matrix/client/v3/register', { username: 'alice' })
    t.equal(first.status, 401, 'the homeserver offers its flows')
    const tok = await requestEmailToken(ng.port, 'alice@example.org', 'cs-alice')
    t.equal(tok.status, 200)
    const body = JSON.stringify({ username: 'alice', ...emailStage(tok.body.sid as string, 'cs-alice', first.body.session as string) })
    const res = await rawPost(ng.port, '/_matrix/client/v3/register', body, { 'Content-Type': 'application/json' })
    t.equal(res.status, 200)
    t.same(hs.accounts, [{ user_id: '@alice:hs', threepid: 'alice@example.org' }])
    const arrived = hs.received.filter((r) => r.url === '/_matrix/client/v3/register' && r.body.toString() === body)
    t.equal(arrived.length, 1, 'the completing request arrived byte for byte')
    t.ok(viaRegguard(arrived[0]?.headers['x-forwarded-for']), 'through regguard')
  })

  t.test('a denied address cannot get a token to begin with', async (t) => {
    const res = await requestEmailToken(ng.port, 'mallory@evil.example', 'cs-m')
    t.equal(res.status, 403)
    t.notOk(hs.received.some((r) => r.url.includes('requestToken') && r.body.includes('evil.example')))
  })
})
