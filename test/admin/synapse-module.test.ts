import t from 'tap'
import { request } from 'undici'
import { startRegguard, type Started } from '../helpers/regguard.js'
import { ADMIN_TOKEN, adminCall } from '../invites/helpers.js'

// The Synapse module's endpoints on a running regguard (real admin listener, real store): who
// may call them, what they answer for registrations and 3PID invites, what they record.

const MODULE_TOKEN = 'module-token-for-tests'
const REG = '/_regguard/v1/synapse_module/check_registration'
const INV = '/_regguard/v1/synapse_module/check_3pid_invite'
// nothing listens there: these endpoints never ask the homeserver
const NO_HS = 'http://127.0.0.1:9'

const policy = {
  allowed: false,
  threepid: { email: { domain: { whitelist: ['good.example.org'], blacklist: ['bad.example.org'] } } },
  username: { banned: { literals: ['root'] } },
  requester: { banned_ips: ['203.0.113.0/24'], banned_user_agents: { substrings: ['EvilBot'] } }
}

interface Answer { status: number, body: Record<string, unknown> }

async function call (rg: Started, path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${MODULE_TOKEN}` }): Promise<Answer> {
  const r = await request(`${rg.adminUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  return { status: r.statusCode, body: await r.body.json() as Record<string, unknown> }
}

const ua = (agent: string, ip = '198.51.100.7'): Array<[string, string]> => [[agent, ip]]
const reg = (over: Record<string, unknown>): Record<string, unknown> => ({ email: null, username: 'alice', request_info: ua('Mozilla/5.0'), auth_provider_id: null, ...over })

t.test('authentication: the token, or else the admin listener\'s own address without Origin', async (t) => {
  const withToken = await startRegguard(t, NO_HS, { admin: { synapse_module_token: MODULE_TOKEN }, register: { policy } })
  const body = reg({ email: 'a@good.example.org' })
  const none = await call(withToken, REG, body, {})
  t.equal(none.status, 401)
  t.equal(none.body.errcode, 'M_MISSING_TOKEN')
  const wrong = await call(withToken, REG, body, { authorization: 'Bearer nope' })
  t.equal(wrong.status, 401)
  t.equal(wrong.body.errcode, 'M_UNKNOWN_TOKEN')
  const right = await call(withToken, REG, body, { authorization: `Bearer ${MODULE_TOKEN}`, host: 'elsewhere.example', origin: 'https://elsewhere.example' })
  t.equal(right.status, 200, 'with the token any Host or Origin is answered')
  t.equal(right.body.allow, true)
  const threepidToken = await call(withToken, INV, { inviter: '@a:localhost', medium: 'email', address: 'x@bad.example.org', room_id: '!r:localhost' }, { authorization: 'Bearer other' })
  t.equal(threepidToken.status, 401, 'the invite endpoint too')

  const open = await startRegguard(t, NO_HS, { register: { policy } })
  const own = await call(open, REG, body, {})
  t.equal(own.status, 200, 'no token configured: the listener\'s own Host is answered')
  const origin = await call(open, REG, body, { origin: 'http://attacker.example' })
  t.equal(origin.status, 403, 'a browser page (Origin) is refused')
  t.equal(origin.body.errcode, 'M_FORBIDDEN')
  const host = await call(open, REG, body, { host: 'attacker.example' })
  t.equal(host.status, 403, 'a foreign Host (DNS rebinding) is refused')
  const given = await call(open, REG, body, { authorization: 'Bearer guess' })
  t.equal(given.status, 200, 'a token nobody configured is ignored: the Host rules decide')
})

t.test('registrations: requester, username, email policy, require_3pid, SSO, admin registrations', async (t) => {
  const rg = await startRegguard(t, NO_HS, {
    admin: { token: ADMIN_TOKEN, synapse_module_token: MODULE_TOKEN },
    log: { full_addresses: true },
    register: { policy: { ...policy, require_3pid: true, sso_providers: ['oidc-corp'] } }
  })
  const verdict = async (over: Record<string, unknown>): Promise<string> => {
    const r = await call(rg, REG, reg(over))
    t.equal(r.status, 200, JSON.stringify(r.body))
    return `${r.body.allow === true ? 'allow' : 'deny'} ${String(r.body.rule)}`
  }
  t.equal(await verdict({ email: 'Ann@Good.Example.org' }), 'allow whitelist')
  t.equal(await verdict({ email: 'bob@bad.example.org' }), 'deny blacklist')
  t.equal(await verdict({ email: 'carol@elsewhere.net' }), 'deny default')
  t.equal(await verdict({ email: 'not an address' }), 'deny email')
  t.equal(await verdict({ email: 'a@good.example.org', username: 'Root' }), 'deny username.banned', 'the localpart Synapse registers (lower-cased)')
  t.equal(await verdict({ email: 'a@good.example.org', request_info: [['Mozilla/5.0', '198.51.100.1'], ['EvilBot/2', '198.51.100.1']] }), 'deny requester', 'every user agent of the session is judged')
  t.equal(await verdict({ email: 'a@good.example.org', request_info: ua('Mozilla/5.0', '203.0.113.9') }), 'deny requester', 'a banned IP')
  t.equal(await verdict({}), 'deny require_3pid', 'no email, no SSO provider')
  t.equal(await verdict({ auth_provider_id: 'oidc-corp' }), 'allow sso_providers')
  t.equal(await verdict({ auth_provider_id: 'oidc-other' }), 'deny require_3pid', 'a provider not listed')
  t.equal(await verdict({ auth_provider_id: 'oidc-corp', email: 'x@bad.example.org' }), 'deny blacklist', 'an SSO registration with an email meets the email policy')
  t.equal(await verdict({ request_info: [], username: 'root' }), 'allow admin_registrations', 'no user agent and no IP: the operator\'s own (admin API, shared secret)')

  // a pending invite opens a default-denied address, as at the proxy
  const inv = await adminCall(rg.adminUrl, 'POST', '/_regguard/admin/v1/invites', { medium: 'email', address: 'carol@elsewhere.net' })
  t.equal(inv.status, 201, JSON.stringify(inv.body))
  t.equal(await verdict({ email: 'carol@elsewhere.net' }), 'allow invite')

  const bad = await call(rg, REG, { email: 5, username: null, request_info: [] })
  t.equal(bad.status, 400)
  t.equal(bad.body.errcode, 'M_INVALID_PARAM')
  const notObject = await call(rg, REG, [1, 2])
  t.equal(notObject.status, 400)
  const tooMany = await call(rg, REG, reg({ request_info: Array.from({ length: 1001 }, () => ['a', '1.2.3.4']) }))
  t.equal(tooMany.status, 400, 'request_info is bounded')

  await rg.app.context.audit.flush()
  const r = await adminCall(rg.adminUrl, 'GET', '/_regguard/admin/v1/decisions?limit=100')
  t.equal(r.status, 200, JSON.stringify(r.body))
  const rows = (r.body.decisions as Array<{ endpoint: string, result: string, rule: string, address: string | null, client_ip: string }>).filter((d) => d.endpoint === 'synapse_module')
  t.ok(rows.length >= 13, `every registration check is in the history (${rows.length})`)
  t.ok(rows.some((d) => d.rule === 'blacklist' && d.result === 'deny' && d.address === 'bob@bad.example.org' && d.client_ip === '198.51.100.7'))
  t.ok(rows.some((d) => d.rule === 'admin_registrations' && d.result === 'allow'))
  t.ok(rows.some((d) => d.rule === 'require_3pid' && d.result === 'deny'))
})

t.test('admin_registrations: policy judges the operator\'s own registrations too', async (t) => {
  const rg = await startRegguard(t, NO_HS, { admin: { synapse_module_token: MODULE_TOKEN }, register: { policy: { ...policy, require_3pid: true, admin_registrations: 'policy' } } })
  const r = await call(rg, REG, reg({ request_info: [], username: 'admin2' }))
  t.same([r.body.allow, r.body.rule], [false, 'require_3pid'])
  const named = await call(rg, REG, reg({ request_info: [], username: 'root', email: 'a@good.example.org' }))
  t.same([named.body.allow, named.body.rule], [false, 'username.banned'])
  const ok = await call(rg, REG, reg({ request_info: [], email: 'a@good.example.org' }))
  t.same([ok.body.allow, ok.body.rule], [true, 'whitelist'])
})

t.test('require_3pid off: a registration without an email passes', async (t) => {
  const rg = await startRegguard(t, NO_HS, { admin: { synapse_module_token: MODULE_TOKEN }, register: { policy } })
  const r = await call(rg, REG, reg({}))
  t.same([r.body.allow, r.body.rule], [true, 'no_email'])
})

const invite = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ inviter: '@alice:localhost', medium: 'email', address: 'friend@elsewhere.net', room_id: '!room:localhost', ...over })

t.test('invites, invites.learn.source traffic (the default): blacklisted refused, nothing recorded', async (t) => {
  const rg = await startRegguard(t, NO_HS, { admin: { token: ADMIN_TOKEN, synapse_module_token: MODULE_TOKEN }, register: { policy } })
  const black = await call(rg, INV, invite({ address: 'x@bad.example.org' }))
  t.same([black.status, black.body.allow, black.body.rule], [200, false, 'blacklist'])
  const other = await call(rg, INV, invite({ inviter: '@stranger:elsewhere' }))
  t.same([other.body.allow, other.body.rule], [true, 'not_learned'], 'the inviter rules are learning rules: not applied when the module does not learn')
  const list = await adminCall(rg.adminUrl, 'GET', '/_regguard/admin/v1/invites')
  t.same((list.body.invites as unknown[]).length, 0, 'no invite recorded')
})

t.test('invites, invites.learn.source module: recorded with the inviter, inviter rules and quota refuse', async (t) => {
  const rg = await startRegguard(t, NO_HS, {
    admin: { token: ADMIN_TOKEN, synapse_module_token: MODULE_TOKEN },
    register: { policy },
    invites: { learn: { source: 'module', per_inviter: { max: 2, window: '1 day' } } }
  })
  const first = await call(rg, INV, invite({ address: 'Friend@Elsewhere.net' }))
  t.same([first.status, first.body.allow, first.body.rule], [200, true, 'recorded'])
  const list = await adminCall(rg.adminUrl, 'GET', '/_regguard/admin/v1/invites')
  const invites = list.body.invites as Array<{ id: string, medium: string, address: string, inviter: string, room_id: string, source: string }>
  t.equal(invites.length, 1)
  t.match(invites[0], { id: first.body.detail, medium: 'email', address: 'friend@elsewhere.net', inviter: '@alice:localhost', room_id: '!room:localhost', source: 'traffic' })
  // the recorded invite opens registration for that address
  const r = await call(rg, REG, reg({ email: 'friend@elsewhere.net' }))
  t.same([r.body.allow, r.body.rule], [true, 'invite'])

  const untrusted = await call(rg, INV, invite({ inviter: '@spammer:evil.example' }))
  t.same([untrusted.body.allow, untrusted.body.rule], [false, 'inviter-not-trusted'], 'a remote user is not a trusted inviter by default')
  const black = await call(rg, INV, invite({ address: 'y@bad.example.org' }))
  t.same([black.body.allow, black.body.rule], [false, 'blacklist'])
  const second = await call(rg, INV, invite({ address: 'two@elsewhere.net' }))
  t.same([second.body.allow, second.body.rule], [true, 'recorded'])
  const third = await call(rg, INV, invite({ address: 'three@elsewhere.net' }))
  t.same([third.body.allow, third.body.rule], [false, 'per-inviter-limit'], 'per_inviter.max reached')
  const unusable = await call(rg, INV, invite({ medium: 'carrier-pigeon', address: 'coo' }))
  t.same([unusable.body.allow, unusable.body.rule], [true, 'unusable_address'])
  const bad = await call(rg, INV, invite({ inviter: 'not-a-user' }))
  t.equal(bad.status, 400)
  const after = await adminCall(rg.adminUrl, 'GET', '/_regguard/admin/v1/invites')
  t.equal((after.body.invites as unknown[]).length, 2, 'only the allowed, learnable ones were recorded')
})

t.test('invites: invite_overrides_blacklist lets an invite open a blacklisted address, so it is not refused', async (t) => {
  const rg = await startRegguard(t, NO_HS, { admin: { synapse_module_token: MODULE_TOKEN }, register: { policy: { ...policy, invite_overrides_blacklist: true } }, invites: { learn: { source: 'both' } } })
  const r = await call(rg, INV, invite({ address: 'x@bad.example.org' }))
  t.same([r.body.allow, r.body.rule], [true, 'recorded'])
})
