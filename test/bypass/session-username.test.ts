import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { startRegguard } from '../helpers/regguard.js'
import { startUiaHomeserver } from '../helpers/uia-homeserver.js'
import { emailStage, post, requestEmailToken } from '../helpers/register.js'

// Issue 22, part 5: a username was judged once, when the request carrying it came; the UIA
// session keeps it, and the request that completes the session carries none. A reload may have
// banned it since: the username recorded for the session is judged again.

const REGISTER = '/_matrix/client/v3/register'
const policy = (banned: string[]) => ({
  allowed: false,
  threepid: { email: { domain: { whitelist: ['example.org'] } } },
  username: { banned: { literals: banned } }
})

t.test('the session\'s username is judged again when the session completes', async (t) => {
  const hs = await startUiaHomeserver(t, [['m.login.email.identity']])
  const rg = await startRegguard(t, hs.url, { register: { policy: policy(['root']) } })
  const first = await post(rg.port, REGISTER, { username: 'Mallory', password: 'p' })
  t.equal(first.status, 401, 'the name is allowed when it comes')
  const session = first.body.session as string
  const tok = await requestEmailToken(rg.port, 'mallory@example.org', 'cs1')
  t.equal(tok.status, 200)

  rg.app.reconfigure(loadConfig({
    object: { homeserver: { url: hs.url }, storage: { url: rg.config.settings.storage.url }, register: { policy: policy(['root', 'mallory']), rate_limit: { enabled: false } } },
    env: {}
  }))
  const last = await post(rg.port, REGISTER, emailStage(tok.body.sid as string, 'cs1', session))
  t.equal(last.status, 400, 'refused once banned')
  t.equal(last.body.errcode, 'M_INVALID_USERNAME')
  t.same(hs.accounts, [], 'no account was created')
  t.match(rg.logs.find((l) => l.msg === 'username refused'), { rule: 'username.banned' })
})

t.test('control: a name still allowed completes, and one given again is judged as it comes', async (t) => {
  const hs = await startUiaHomeserver(t, [['m.login.email.identity']])
  const rg = await startRegguard(t, hs.url, { register: { policy: policy(['root']) } })
  const first = await post(rg.port, REGISTER, { username: 'alice', password: 'p' })
  const tok = await requestEmailToken(rg.port, 'alice@example.org', 'cs2')
  const last = await post(rg.port, REGISTER, emailStage(tok.body.sid as string, 'cs2', first.body.session as string))
  t.equal(last.status, 200, 'completed')
  t.equal(hs.accounts.length, 1)
  const again = await post(rg.port, REGISTER, { username: 'root', password: 'p' })
  t.equal(again.status, 400, 'a banned name in the request itself is refused as before')
})
