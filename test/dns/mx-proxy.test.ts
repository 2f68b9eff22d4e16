import t, { type Test } from 'tap'
import { request } from 'undici'
import { startDnsServer, type ZoneEntry } from '../helpers/dns-server.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// The mail-server rules through the proxy, against a DNS server on loopback: a denied address
// never reaches the homeserver, an allowed one does byte for byte.

const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const body = (email: string): string => JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 })

const ZONE: Record<string, ZoneEntry> = {
  'good.example': { MX: [{ preference: 10, exchange: 'mx.good.example' }] },
  'custom.example': { MX: [{ preference: 10, exchange: 'MX1.Mailinator.com.' }, { preference: 20, exchange: 'backup.custom.example' }] },
  'nullmx.example': { MX: [{ preference: 0, exchange: '.' }] },
  'aonly.example': { A: ['192.0.2.1'] },
  'v6only.example': { AAAA: ['2001:db8::1'] },
  'nothing.example': {},
  'broken.example': { fail: 'SERVFAIL' },
  'silent.example': { fail: 'timeout' },
  'big.example': { truncate: true, MX: [{ preference: 10, exchange: 'mx.big.example' }] },
  'alias.example': { CNAME: 'real.example' },
  'real.example': { MX: [{ preference: 10, exchange: 'in.mailinator.com' }] },
  'corp.example': { MX: [{ preference: 10, exchange: 'mx1.corp-mail.example' }, { preference: 20, exchange: 'mx2.corp-mail.example' }] },
  'halfcorp.example': { MX: [{ preference: 10, exchange: 'mx1.corp-mail.example' }, { preference: 20, exchange: 'mx.elsewhere.example' }] }
}

async function setup (t: Test, mx: Record<string, unknown>, extra: { allowed?: boolean, domain?: Record<string, unknown>, timeout?: number } = {}) {
  const dns = await startDnsServer(t, ZONE)
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, {
    dns: { servers: [dns.address], timeout_ms: extra.timeout ?? 1000 },
    register: { policy: { allowed: extra.allowed ?? true, threepid: { email: { mx, domain: extra.domain ?? {} } } } }
  })
  return { dns, hs, rg }
}

t.test('mx.require: a domain that cannot receive mail is denied before the homeserver', async (t) => {
  const { dns, hs, rg } = await setup(t, { require: true })
  const cases: Array<[string, number]> = [
    ['a@good.example', 200],
    ['a@aonly.example', 200],
    ['a@v6only.example', 200],
    ['a@nullmx.example', 403],
    ['a@nxdomain.example', 403],
    ['a@nothing.example', 403],
    ['a@big.example', 200],
    ['a@alias.example', 200]
  ]
  for (const [email, status] of cases) {
    const r = await rawPost(rg.port, TOKEN, body(email))
    t.equal(r.status, status, email)
    if (status === 403) t.equal(JSON.parse(r.body).errcode, 'M_THREEPID_DENIED', email)
  }
  const reached = hs.receivedMatching('requestToken').map((r) => (JSON.parse(r.body.toString()) as { email: string }).email)
  t.same(reached, ['a@good.example', 'a@aonly.example', 'a@v6only.example', 'a@big.example', 'a@alias.example'], 'only the deliverable domains reached the homeserver')
  t.same(hs.receivedMatching('requestToken')[0]?.body.toString(), body('a@good.example'), 'byte for byte')
  t.ok(dns.queriesFor('big.example').some((q) => q.tcp), 'a truncated answer is asked again over TCP')
  const logged = rg.logs.filter((l) => l.msg === 'policy decision' && l.decision === 'deny').map((l) => [l.rule, l.detail])
  t.same(logged, [
    ['mx_require', 'nullmx.example cannot receive mail: null MX (RFC 7505)'],
    ['mx_require', 'nxdomain.example cannot receive mail: no such domain'],
    ['mx_require', 'nothing.example cannot receive mail: no MX and no A/AAAA']
  ])
})

t.test('mx.blacklist: a custom domain whose mail goes to a listed provider is denied', async (t) => {
  const { hs, rg } = await setup(t, { blacklist: ['*mailinator.com'] })
  t.equal((await rawPost(rg.port, TOKEN, body('a@custom.example'))).status, 403, 'one of its MX is listed')
  t.equal((await rawPost(rg.port, TOKEN, body('a@alias.example'))).status, 403, 'through a CNAME')
  t.equal((await rawPost(rg.port, TOKEN, body('a@good.example'))).status, 200)
  t.equal((await rawPost(rg.port, TOKEN, body('a@nullmx.example'))).status, 200, 'require off: no mail is not a denial')
  t.equal(hs.receivedMatching('requestToken').length, 2)
  const denied = rg.logs.filter((l) => l.msg === 'policy decision' && l.decision === 'deny').map((l) => [l.rule, l.detail])
  t.same(denied, [['blacklist', 'mx mx1.mailinator.com (*mailinator.com)'], ['blacklist', 'mx in.mailinator.com (*mailinator.com)']])
})

t.test('mx.whitelist: allowed only when every mail server is listed', async (t) => {
  const { hs, rg } = await setup(t, { whitelist: ['.corp-mail.example'] }, { allowed: false })
  t.equal((await rawPost(rg.port, TOKEN, body('a@corp.example'))).status, 200)
  t.equal((await rawPost(rg.port, TOKEN, body('a@halfcorp.example'))).status, 403, 'one foreign MX')
  t.equal((await rawPost(rg.port, TOKEN, body('a@good.example'))).status, 403)
  t.same(hs.receivedMatching('requestToken').map((r) => r.body.toString()), [body('a@corp.example')])
  const allowed = rg.logs.find((l) => l.msg === 'policy decision' && l.decision === 'allow')
  t.equal(allowed?.rule, 'whitelist')
  t.equal(allowed?.detail, 'mx mx1.corp-mail.example (.corp-mail.example), mx2.corp-mail.example (.corp-mail.example)')
})

t.test('on_error deny: a resolver failure is a temporary 503, the homeserver never asked', async (t) => {
  const { hs, rg } = await setup(t, { require: true }, { timeout: 300 })
  for (const email of ['a@broken.example', 'a@silent.example']) {
    const started = Date.now()
    const r = await rawPost(rg.port, TOKEN, body(email))
    t.equal(r.status, 503, email)
    t.same(JSON.parse(r.body), { errcode: 'M_UNKNOWN', error: 'The mail servers of this email domain could not be checked right now; try again later' })
    t.ok(Date.now() - started < 2000, `${email}: answered within the DNS timeout (${Date.now() - started} ms)`)
  }
  t.equal(hs.received.length, 0)
  const logged = rg.logs.filter((l) => l.msg === 'policy decision').map((l) => l.rule)
  t.same(logged, ['mx_error', 'mx_error'])
  const metrics = await (await request(`${rg.adminUrl}/metrics`)).body.text()
  t.match(metrics, /regguard_mx_lookups_total\{result="failed"\} 2/)
})

t.test('on_error allow: a resolver failure skips the mail-server rules', async (t) => {
  const { hs, rg } = await setup(t, { require: true, on_error: 'allow' }, { timeout: 300 })
  t.equal((await rawPost(rg.port, TOKEN, body('a@broken.example'))).status, 200)
  t.equal((await rawPost(rg.port, TOKEN, body('a@nullmx.example'))).status, 403, 'an answer still denies')
  t.equal(hs.receivedMatching('requestToken').length, 1)
})

t.test('no lookup once an earlier rule decided; answers kept for their TTL', async (t) => {
  const { dns, hs, rg } = await setup(t, { require: true, whitelist: ['*corp-mail.example'] }, { allowed: false, domain: { blacklist: ['good.example'] } })
  t.equal((await rawPost(rg.port, TOKEN, body('a@good.example'))).status, 403, 'the domain blacklist decides')
  t.equal(dns.queriesFor('good.example').length, 0, 'DNS was not asked')
  t.equal((await rawPost(rg.port, TOKEN, body('a@corp.example'))).status, 200)
  t.equal((await rawPost(rg.port, TOKEN, body('b@corp.example'))).status, 200)
  t.equal(dns.queriesFor('corp.example').length, 1, 'the second request used the cached answer')
  dns.zone.set('short.example', { ttl: 1, MX: [{ preference: 1, exchange: 'mx1.corp-mail.example' }] })
  t.equal((await rawPost(rg.port, TOKEN, body('a@short.example'))).status, 200)
  dns.zone.set('short.example', { ttl: 1, MX: [{ preference: 0, exchange: '.' }] })
  t.equal((await rawPost(rg.port, TOKEN, body('b@short.example'))).status, 200, 'within the TTL: the cached answer')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await rawPost(rg.port, TOKEN, body('c@short.example'))).status, 403, 'past the TTL: asked again, now a null MX')
  t.equal(dns.queriesFor('short.example').filter((q) => q.type === 'MX').length, 2)
  t.equal(hs.receivedMatching('requestToken').length, 4)
})

t.test('/register re-checks a session with DNS: a failure there is temporary too', async (t) => {
  const { dns, hs, rg } = await setup(t, { require: true }, { timeout: 300 })
  const r = await rawPost(rg.port, TOKEN, body('a@good.example'))
  t.equal(r.status, 200)
  const sid = (JSON.parse(r.body) as { sid: string }).sid
  dns.zone.set('good.example', { fail: 'SERVFAIL' })
  // past the cached answer's lifetime: a new resolver configuration empties the cache
  rg.app.reconfigure({ ...rg.config, settings: { ...rg.config.settings, dns: { servers: [`${dns.address}`, '127.0.0.1:1'], timeout_ms: 300 } } })
  const reg = await rawPost(rg.port, '/_matrix/client/v3/register', JSON.stringify({ auth: { type: 'm.login.email.identity', session: 'uia', threepid_creds: { sid, client_secret: 'cs' } }, password: 'p' }))
  t.equal(reg.status, 503)
  t.equal(JSON.parse(reg.body).errcode, 'M_UNKNOWN')
  t.equal(hs.receivedMatching('/register').filter((x) => !x.url.includes('requestToken')).length, 0, 'the registration never reached the homeserver')
})
