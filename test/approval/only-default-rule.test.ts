import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { startRegguard } from '../helpers/regguard.js'
import { post, requestEmailToken } from '../helpers/register.js'

// Only a registration the default rule alone denies asks to join: never a blacklist, a
// requester rule, a rate limit, /account/3pid, or an address the lists allow.

const TOKEN = 'tok'

async function recorded (adminUrl: string): Promise<string[]> {
  const res = await fetch(`${adminUrl}/_regguard/admin/v1/access-requests`, { headers: { Authorization: `Bearer ${TOKEN}` } })
  return ((await res.json()) as { access_requests: Array<{ address: string }> }).access_requests.map((r) => r.address)
}

t.test('what never asks', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, {
    admin: { token: TOKEN },
    register: {
      approval: { enabled: true },
      policy: {
        threepid: { email: { domain: { whitelist: ['ok.example'], blacklist: ['bad.example'] }, pattern: { blacklist: ['spam.*@.*'] } } },
        requester: { banned_user_agents: { substrings: ['evilbot'] } }
      },
      rate_limit: { enabled: true, per_ip: { max: 100, window: 60_000 }, per_address: { max: 1, window: 60_000 } }
    }
  })
  t.equal((await requestEmailToken(rg.port, 'a@bad.example', 'c1')).status, 403, 'domain blacklist')
  t.equal((await requestEmailToken(rg.port, 'spammer@x.example', 'c2')).status, 403, 'pattern blacklist')
  const ua = await post(rg.port, '/_matrix/client/v3/register/email/requestToken', { client_secret: 'c3', email: 'ua@x.example', send_attempt: 1 }, { 'User-Agent': 'evilbot/1' })
  t.equal(ua.body.errcode, 'M_FORBIDDEN', 'requester rule')
  t.equal((await requestEmailToken(rg.port, 'acct@x.example', 'c4', 'account')).status, 403, '/account/3pid')
  t.equal((await requestEmailToken(rg.port, 'fine@ok.example', 'c5')).status, 200, 'whitelisted')
  t.same(await recorded(rg.adminUrl), [], 'none of them asked')

  t.equal((await requestEmailToken(rg.port, 'asks@x.example', 'c6')).body.error, rg.config.settings.register.approval.message)
  t.equal((await requestEmailToken(rg.port, 'asks@x.example', 'c7')).status, 429, 'the per-address limit comes first')
  t.same(await recorded(rg.adminUrl), ['asks@x.example'])
  const [row] = (await (await fetch(`${rg.adminUrl}/_regguard/admin/v1/access-requests`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json() as { access_requests: Array<{ count: number }> }).access_requests
  t.equal(row?.count, 1, 'the limited ask did not count')
})
