import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost, rawRequest } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { bodyFor, TOKEN_PATHS } from './helpers.js'

// Requester rules (register.policy.requester, as MAS's requester data) through the proxy: a
// banned client IP or User-Agent gets 403 M_FORBIDDEN on every policed requestToken endpoint,
// /register and /register/available, and none of its requests reaches the homeserver. The
// client IP is the one regguard computes: the test client is loopback, a trusted proxy by
// default, so X-Forwarded-For names the client.

const RULES = {
  register: {
    policy: {
      allowed: true,
      requester: {
        banned_ips: ['203.0.113.0/24', '192.0.2.7', '2001:db8::/32'],
        banned_user_agents: { substrings: ['EvilBot'], prefixes: ['python-requests/'], literals: [''] }
      }
    }
  }
}
const UA = { 'User-Agent': 'Element/1.11' }

function errcode (body: string): string | undefined {
  try { return (JSON.parse(body) as { errcode?: string }).errcode } catch { return undefined }
}

const GATED = [
  ...TOKEN_PATHS.map((p) => ({ what: p.path, method: 'POST', target: p.path, body: bodyFor(p.medium, false) })),
  { what: 'register', method: 'POST', target: '/_matrix/client/v3/register', body: '{"username":"alice","password":"pw"}' },
  { what: 'register r0', method: 'POST', target: '/_matrix/client/r0/register', body: '{}' },
  { what: 'available', method: 'GET', target: '/_matrix/client/v3/register/available?username=alice', body: '' }
]

function send (port: number, r: typeof GATED[number], headers: Array<[string, string]>): ReturnType<typeof rawRequest> {
  const lines = [`${r.method} ${r.target} HTTP/1.1`, 'Host: matrix.example.org', 'Connection: close', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(r.body)}`]
  for (const [k, v] of headers) lines.push(`${k}: ${v}`)
  return rawRequest(port, lines.join('\r\n') + '\r\n\r\n' + r.body)
}

t.test('a banned IP is refused on every gated endpoint before the homeserver', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, RULES)
  const banned = ['203.0.113.9', '192.0.2.7', '::ffff:203.0.113.200', '2001:db8:1::1', '2001:DB8::abcd']
  for (const ip of banned) {
    for (const r of GATED) {
      const res = await send(rg.port, r, [['User-Agent', 'Element/1.11'], ['X-Forwarded-For', ip]])
      t.equal(res.status, 403, `${ip} ${r.what}`)
      t.equal(errcode(res.body), 'M_FORBIDDEN', `${ip} ${r.what}`)
    }
  }
  t.same(hs.received.map((r) => r.url), [], 'nothing reached the homeserver')
  const log = rg.logs.find((l) => l.msg === 'requester refused')
  t.equal(log?.rule, 'requester')
  t.equal(log?.detail, 'banned_ips 203.0.113.0/24')
  t.equal(log?.client_ip, '203.0.113.9')
  const metrics = await rg.app.context.metrics.registry.getSingleMetricAsString('regguard_policy_decisions_total')
  t.match(metrics, /endpoint="available",medium="none",result="deny",rule="requester"\} 5/)
  t.match(metrics, /endpoint="register",medium="email",result="deny",rule="requester"\} 15/)
})

t.test('other IPs pass, byte for byte; unpoliced paths are not gated', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, RULES)
  for (const r of GATED) {
    const res = await send(rg.port, r, [['User-Agent', 'Element/1.11'], ['X-Forwarded-For', '198.51.100.1']])
    t.equal(res.status, 200, r.what)
  }
  t.same(hs.received.map((r) => r.url), GATED.map((r) => r.target))
  t.same(hs.received.map((r) => r.body.toString()), GATED.map((r) => r.body), 'the exact bodies')
  const login = await rawPost(rg.port, '/_matrix/client/v3/login', '{}', { 'X-Forwarded-For': '203.0.113.9', ...UA })
  t.equal(login.status, 200, 'the requester rules gate registration, not every request')
})

t.test('a banned User-Agent is refused, whichever User-Agent header carries it', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, RULES)
  const variants: Array<Array<[string, string]>> = [
    [['User-Agent', 'Mozilla/5.0 EvilBot/2']],
    [['User-Agent', 'python-requests/2.31']],
    [['User-Agent', 'Element/1.11'], ['User-Agent', 'EvilBot']],
    [['User-Agent', 'EvilBot'], ['user-agent', 'Element/1.11']],
    [['User-Agent', '']],
    []
  ]
  for (const headers of variants) {
    for (const r of GATED) {
      const res = await send(rg.port, r, headers)
      t.equal(res.status, 403, `${JSON.stringify(headers)} ${r.what}`)
    }
  }
  t.same(hs.received.length, 0, 'nothing reached the homeserver')
  t.equal(rg.logs.find((l) => l.msg === 'requester refused')?.detail, 'banned_user_agents substring "EvilBot"')
})

t.test('with only_check_at_registration, /account/3pid is not policed, so not gated', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { register: { policy: { ...RULES.register.policy, only_check_at_registration: true } } })
  const account = TOKEN_PATHS.filter((p) => p.endpoint === 'account/3pid')
  for (const p of account) {
    const res = await rawPost(rg.port, p.path, bodyFor(p.medium, false), { 'X-Forwarded-For': '203.0.113.9', ...UA })
    t.equal(res.status, 200, p.path)
  }
  const reg = await rawPost(rg.port, '/_matrix/client/v3/register/email/requestToken', bodyFor('email', false), { 'X-Forwarded-For': '203.0.113.9', ...UA })
  t.equal(reg.status, 403, 'the registration endpoint still is')
  t.equal(hs.received.length, account.length)
})

t.test('a banned requester is refused before the rate limit counts it', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { register: { ...RULES.register, rate_limit: { enabled: true, per_ip: { max: 1, window: 60000 } } } })
  const path = '/_matrix/client/v3/register/email/requestToken'
  for (let i = 0; i < 3; i++) {
    const res = await rawPost(rg.port, path, bodyFor('email', false), { 'X-Forwarded-For': '203.0.113.9', ...UA })
    t.equal(res.status, 403, 'forbidden, not 429')
  }
  t.equal(hs.received.length, 0)
})
