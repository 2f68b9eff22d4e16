import t from 'tap'
import { classify, isSsoRegistration } from '../../src/gate/routes.js'
import { credsOf } from '../../src/gate/account-threepid.js'

// The route entries of issue 22 as Synapse (and Twisted) route them, and the credentials the
// 3PID binding endpoints carry as Synapse 1.67 reads them.

t.test('/account/3pid/add and /account/3pid, POST, every prefix, anchored', async (t) => {
  for (const prefix of ['r0', 'v3', 'unstable']) {
    t.same(classify('POST', `/_matrix/client/${prefix}/account/3pid/add`), { kind: 'guarded', action: 'threepidAdd', spelling: 'add' })
    t.same(classify('POST', `/_matrix/client/${prefix}/account/3pid?x=1`), { kind: 'guarded', action: 'threepidAdd', spelling: 'legacy' })
  }
  for (const [method, target] of [['GET', '/_matrix/client/v3/account/3pid'], ['POST', '/_matrix/client/v3/account/3pid/'], ['POST', '/_matrix/client/v3/account/3pid/add/'], ['POST', '/_matrix/client/v3/account/3pid/bind'], ['POST', '/_matrix/client/v3/account/3pid/unbind'], ['POST', '/_matrix/client/api/v1/account/3pid']]) {
    t.equal(classify(method as string, target as string).kind, 'forward', `${method} ${target}: not routed there by Synapse`)
  }
})

t.test('the UIA fallback pages: POST, a prefix match', async (t) => {
  t.same(classify('POST', '/_matrix/client/v3/auth/m.login.terms/fallback/web?session=s'), { kind: 'guarded', action: 'uiaFallback', stage: 'm.login.terms', prefix: 'v3' })
  t.same(classify('POST', '/_matrix/client/r0/auth/m.login.recaptcha/fallback/webanything'), { kind: 'guarded', action: 'uiaFallback', stage: 'm.login.recaptcha', prefix: 'r0' })
  t.equal(classify('GET', '/_matrix/client/v3/auth/m.login.terms/fallback/web').kind, 'forward', 'GET only shows the page')
  t.equal(classify('POST', '/_matrix/client/v3/auth/m.login%2Eterms/fallback/web').kind, 'forward', '"%" is not in [\\w.]: Synapse routes it nowhere')
})

t.test('SSO registration, as Twisted walks the path', async (t) => {
  for (const path of ['/_synapse/client/pick_username', '/_synapse/client/pick_username/account_details', '/_synapse/client/sso_register', '/%5fsynapse/client/pick%5Fusername/check', '/_synapse/cl%69ent/sso_register/x']) {
    t.ok(isSsoRegistration(path), path)
    t.same(classify('DELETE', path), { kind: 'guarded', action: 'sso' }, `${path}: any method`)
  }
  for (const path of ['/_synapse/client/pick_idp', '/_synapse/client/pick_usernames', '/_synapse/client/pick_username%2Fx', '/_synapse//client/pick_username', '/_synapse/admin/v1/register', '/_synapse/client', '/']) {
    t.notOk(isSsoRegistration(path), path)
  }
})

t.test('credentials as Synapse reads them', async (t) => {
  const c = { sid: 's', client_secret: 'c' }
  t.same(credsOf({ sid: 's', client_secret: 'c' }, 'add'), [{ sid: 's', clientSecret: 'c' }])
  t.equal(credsOf({ sid: 1, client_secret: 'c' }, 'add'), null)
  t.equal(credsOf({ client_secret: 'c' }, 'add'), null)
  t.same(credsOf({ threePidCreds: c }, 'legacy'), [{ sid: 's', clientSecret: 'c' }])
  t.same(credsOf({ three_pid_creds: c }, 'legacy'), [{ sid: 's', clientSecret: 'c' }])
  t.same(credsOf({ threePidCreds: c, three_pid_creds: { sid: 't', client_secret: 'd' } }, 'legacy'), [{ sid: 's', clientSecret: 'c' }, { sid: 't', clientSecret: 'd' }], 'both spellings judged')
  for (const falsy of [null, false, 0, '', {}, []]) {
    t.same(credsOf({ threePidCreds: falsy, three_pid_creds: c }, 'legacy'), [{ sid: 's', clientSecret: 'c' }], `${JSON.stringify(falsy)}: Python's "or" reads the other spelling`)
  }
  for (const bad of ['sid client_secret', ['sid', 'client_secret'], 1, { sid: 's' }]) {
    t.equal(credsOf({ threePidCreds: bad }, 'legacy'), null, `${JSON.stringify(bad)}: not a pair, refused`)
  }
  t.same(credsOf({}, 'legacy'), [], 'none: Synapse answers Missing param')
})
