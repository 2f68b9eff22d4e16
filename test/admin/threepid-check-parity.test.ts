import t from 'tap'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard, type Started } from '../helpers/regguard.js'
import { ADMIN_TOKEN, addInvite, adminCall, sleep } from '../invites/helpers.js'

// Synapse's threepid_checker module and the proxy must reach the same verdict. `moduleAllows`
// is the module's rule (matrix-org/synapse-3pid-checker): deny when hs is missing or not the
// server name, deny when requires_invite is true and invited is not; allow otherwise.

const SERVER_NAME = 'matrix.example.org'

function moduleAllows (answer: Record<string, unknown>, serverName: string): boolean {
  if (answer.hs !== serverName) return false
  if (answer.requires_invite === true && answer.invited !== true) return false
  return true
}

async function threepidCheck (rg: Started, medium: string, address: string): Promise<Record<string, unknown>> {
  const res = await request(`${rg.adminUrl}/_regguard/v1/threepid_check?medium=${medium}&address=${encodeURIComponent(address)}`)
  if (res.statusCode !== 200) throw new Error(`threepid_check answered ${res.statusCode}`)
  return await res.body.json() as Record<string, unknown>
}

async function proxyAllows (rg: Started, medium: string, address: string): Promise<boolean> {
  const body = medium === 'email'
    ? { client_secret: 'cs', email: address, send_attempt: 1 }
    : { client_secret: 'cs', country: '', phone_number: '+' + address, send_attempt: 1 }
  const res = await rawPost(rg.port, `/_matrix/client/v3/register/${medium}/requestToken`, JSON.stringify(body))
  if (res.status !== 200 && res.status !== 403) throw new Error(`requestToken answered ${res.status}`)
  return res.status === 200
}

const lists = {
  email: { domain: { whitelist: ['good.example.org'], blacklist: ['evil.example.org'] } },
  msisdn: { pattern: { whitelist: ['44\\d+'], blacklist: ['449\\d+'] } }
}

interface Case { name: string, medium: 'email' | 'msisdn', address: string, expected: boolean, prepare?: (rg: Started) => Promise<void> }

const CASES: Case[] = [
  { name: 'whitelisted email', medium: 'email', address: 'a@good.example.org', expected: true },
  { name: 'blacklisted email', medium: 'email', address: 'a@evil.example.org', expected: false },
  { name: 'email denied by default', medium: 'email', address: 'a@elsewhere.example.com', expected: false },
  { name: 'whitelisted msisdn', medium: 'msisdn', address: '447700900123', expected: true },
  { name: 'blacklisted msisdn', medium: 'msisdn', address: '449700900123', expected: false },
  { name: 'msisdn denied by default', medium: 'msisdn', address: '12025550123', expected: false },
  // a blacklist beats an invite (issue 22) unless invite_overrides_blacklist
  { name: 'invited but blacklisted', medium: 'email', address: 'guest@evil.example.org', expected: false, prepare: async (rg) => { await addInvite(rg.adminUrl, 'email', 'guest@evil.example.org') } },
  { name: 'invited, denied by default', medium: 'msisdn', address: '12025550199', expected: true, prepare: async (rg) => { await addInvite(rg.adminUrl, 'msisdn', '12025550199') } },
  {
    name: 'revoked invite',
    medium: 'email',
    address: 'gone@evil.example.org',
    expected: false,
    prepare: async (rg) => {
      const inv = await addInvite(rg.adminUrl, 'email', 'gone@evil.example.org')
      await adminCall(rg.adminUrl, 'DELETE', `/_regguard/admin/v1/invites/${inv.id}`)
    }
  },
  {
    name: 'expired invite',
    medium: 'email',
    address: 'late@elsewhere.example.com',
    expected: false,
    prepare: async (rg) => { await addInvite(rg.adminUrl, 'email', 'late@elsewhere.example.com', 30); await sleep(80) }
  }
]

const CONFIGS = [
  { name: 'default deny, invites on', policy: { allowed: false, invite: true, threepid: lists }, flip: {} as Record<string, boolean> },
  { name: 'default allow, invites on', policy: { allowed: true, invite: true, threepid: lists }, flip: { 'email denied by default': true, 'msisdn denied by default': true, 'expired invite': true } as Record<string, boolean> },
  { name: 'default deny, invites off', policy: { allowed: false, invite: false, threepid: lists }, flip: { 'invited, denied by default': false } as Record<string, boolean> },
  { name: 'default deny, invites override blacklists', policy: { allowed: false, invite: true, invite_overrides_blacklist: true, threepid: lists }, flip: { 'invited but blacklisted': true } as Record<string, boolean> }
]

for (const config of CONFIGS) {
  t.test(`${config.name}: the module's verdict on regguard's answer is the proxy's verdict`, async (t) => {
    const hs = await startHomeserver(t)
    const rg = await startRegguard(t, hs.url, { homeserver: { server_name: SERVER_NAME }, admin: { token: ADMIN_TOKEN }, register: { policy: config.policy } })
    for (const c of CASES) {
      await c.prepare?.(rg)
      const answer = await threepidCheck(rg, c.medium, c.address)
      const viaModule = moduleAllows(answer, SERVER_NAME)
      const viaProxy = await proxyAllows(rg, c.medium, c.address)
      const expected = config.flip[c.name] ?? c.expected
      t.equal(viaProxy, expected, `${c.name}: proxy ${expected ? 'allows' : 'denies'}`)
      t.equal(viaModule, viaProxy, `${c.name}: module agrees (${JSON.stringify(answer)})`)
      t.equal(moduleAllows(answer, 'other.example.org'), false, `${c.name}: a homeserver with another name is always denied`)
    }
  })
}

t.test('answers in the module protocol, exactly', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { homeserver: { server_name: SERVER_NAME }, admin: { token: ADMIN_TOKEN }, register: { policy: { allowed: false, threepid: lists } } })
  t.same(await threepidCheck(rg, 'email', 'a@good.example.org'), { hs: SERVER_NAME })
  t.same(await threepidCheck(rg, 'email', 'a@evil.example.org'), {}, 'blacklisted: no invite can allow it')
  t.same(await threepidCheck(rg, 'email', 'a@elsewhere.example.com'), { hs: SERVER_NAME, requires_invite: true, invited: false })
  await addInvite(rg.adminUrl, 'email', 'a@elsewhere.example.com')
  t.same(await threepidCheck(rg, 'email', 'A@Elsewhere.Example.com'), { hs: SERVER_NAME, requires_invite: true, invited: true }, 'canonicalised again')
  const off = await startRegguard(t, hs.url, { homeserver: { server_name: SERVER_NAME }, register: { policy: { allowed: false, invite: false, threepid: lists } } })
  t.same(await threepidCheck(off, 'email', 'a@evil.example.org'), {})
  t.same(await threepidCheck(off, 'msisdn', '447700900123'), { hs: SERVER_NAME }, 'msisdn without "+", as Synapse sends it')
})

t.test('missing or invalid parameters', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, {})
  const cases: Array<[string, string, string]> = [
    ['', 'M_MISSING_PARAM', "Missing params: ['medium', 'address']"],
    ['?medium=email', 'M_MISSING_PARAM', "Missing params: ['address']"],
    ['?address=a@example.org', 'M_MISSING_PARAM', "Missing params: ['medium']"],
    ['?medium=fax&address=a@example.org', 'M_INVALID_PARAM', 'medium must be "email" or "msisdn"'],
    ['?medium=email&address=nope', 'M_INVALID_PARAM', 'address is not a valid email address'],
    ['?medium=msisdn&address=abc', 'M_INVALID_PARAM', 'address is not a valid phone number'],
    ['?medium=email&medium=msisdn&address=a@example.org', 'M_INVALID_PARAM', 'medium and address may be given once']
  ]
  for (const [q, errcode, error] of cases) {
    const res = await request(`${rg.adminUrl}/_regguard/v1/threepid_check${q}`)
    t.equal(res.statusCode, 400, q)
    t.same(await res.body.json(), { errcode, error }, q)
  }
})
