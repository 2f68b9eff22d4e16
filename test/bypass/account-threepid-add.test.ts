import t from 'tap'
import { startHomeserver, type Homeserver } from '../helpers/homeserver.js'
import { startRegguard, type Started } from '../helpers/regguard.js'
import { post } from '../helpers/register.js'
import { ADMIN_TOKEN, addInvite, adminCall } from '../invites/helpers.js'
import { PREFIXES } from './helpers.js'

// Issue 22, part 2: a phone number (or email) denied at requestToken, validated straight at the
// identity server or the homeserver, then bound to an existing account with POST
// /account/3pid/add or the legacy POST /account/3pid (threePidCreds / three_pid_creds, Synapse
// 1.67: `body.get("threePidCreds") or body.get("three_pid_creds")`). Each spelling must name a
// session regguard recorded from a policed requestToken, whose address passes the policy now.

const POLICY = {
  allowed: false,
  threepid: { email: { domain: { whitelist: ['example.org'] } }, msisdn: { pattern: { whitelist: ['33\\d+'] } } }
}

async function start (t: Parameters<Parameters<typeof t.test>[1]>[0], policy: Record<string, unknown> = POLICY): Promise<{ hs: Homeserver, rg: Started }> {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, register: { policy } })
  return { hs, rg }
}

/** A session regguard let through (and recorded): its sid */
async function allowedSession (rg: Started, cs: string, email = 'alice@example.org'): Promise<string> {
  const r = await post(rg.port, '/_matrix/client/v3/account/3pid/email/requestToken', { client_secret: cs, email, send_attempt: 1 })
  if (r.status !== 200) throw new Error(`requestToken answered ${r.status}`)
  return r.body.sid as string
}

const AUTH = { Authorization: 'Bearer user-token' }
const binds = (hs: Homeserver): string[] => hs.received.filter((r) => /\/account\/3pid(\/add)?$/.test(r.url)).map((r) => `${r.url} ${r.body.toString()}`)

t.test('credentials regguard never recorded are refused at every prefix and spelling', async (t) => {
  const { hs, rg } = await start(t)
  const good = await allowedSession(rg, 'good')
  // a phone number denied at requestToken, validated at the identity server instead
  const denied = await post(rg.port, '/_matrix/client/v3/account/3pid/msisdn/requestToken', { client_secret: 'ph', country: 'GB', phone_number: '07700 900123', send_attempt: 1 })
  t.equal(denied.status, 403, 'the number is denied at requestToken')
  const bad = { sid: 'is-sid-1', client_secret: 'ph' }
  const goodCreds = { sid: good, client_secret: 'good' }
  const bodies: Array<[string, string, Record<string, unknown>]> = [
    ['add', 'account/3pid/add', { ...bad, auth: { type: 'm.login.password', password: 'p' } }],
    ['add, no auth yet', 'account/3pid/add', bad],
    ['legacy threePidCreds', 'account/3pid', { threePidCreds: bad }],
    ['legacy three_pid_creds', 'account/3pid', { three_pid_creds: bad }],
    ['legacy good threePidCreds, bad three_pid_creds', 'account/3pid', { threePidCreds: goodCreds, three_pid_creds: bad }],
    ['legacy empty threePidCreds, bad three_pid_creds', 'account/3pid', { threePidCreds: {}, three_pid_creds: bad }],
    ['legacy null threePidCreds, bad three_pid_creds', 'account/3pid', { threePidCreds: null, three_pid_creds: bad }],
    ['legacy threePidCreds not an object', 'account/3pid', { threePidCreds: 'sid client_secret' }],
    ['add with a recorded sid and another client_secret', 'account/3pid/add', { sid: good, client_secret: 'other' }],
    ['add with a numeric sid', 'account/3pid/add', { sid: 1, client_secret: 'good' }]
  ]
  for (const prefix of PREFIXES) {
    for (const [name, path, body] of bodies) {
      const res = await post(rg.port, `/_matrix/client/${prefix}/${path}`, body, AUTH)
      t.equal(res.status, 403, `${prefix} ${name}: refused`)
      t.equal(res.body.errcode, 'M_THREEPID_DENIED', `${prefix} ${name}`)
    }
  }
  t.same(binds(hs), [], 'no binding request reached the homeserver')
})

t.test('a session regguard recorded binds, under every prefix and spelling', async (t) => {
  const { hs, rg } = await start(t)
  for (const prefix of PREFIXES) {
    for (const [path, body] of [
      ['account/3pid/add', (sid: string, cs: string) => ({ sid, client_secret: cs, auth: { type: 'm.login.password', password: 'p' } })],
      ['account/3pid', (sid: string, cs: string) => ({ threePidCreds: { sid, client_secret: cs } })],
      ['account/3pid', (sid: string, cs: string) => ({ three_pid_creds: { sid, client_secret: cs } })]
    ] as const) {
      const cs = `cs-${prefix}-${path.length}-${Object.keys(body('', '')).join('')}`
      const sid = await allowedSession(rg, cs)
      const res = await post(rg.port, `/_matrix/client/${prefix}/${path}`, body(sid, cs), AUTH)
      t.equal(res.status, 200, `${prefix} ${path} ${Object.keys(body('', ''))[0] as string}: forwarded`)
    }
  }
  t.equal(binds(hs).length, 9, 'each reached the homeserver')
})

t.test('the address must pass the policy now: a revoked invite binds nothing', async (t) => {
  const { hs, rg } = await start(t)
  const inv = await addInvite(rg.adminUrl, 'email', 'guest@elsewhere.example')
  const sid = await allowedSession(rg, 'inv', 'guest@elsewhere.example')
  t.equal((await adminCall(rg.adminUrl, 'DELETE', `/_regguard/admin/v1/invites/${inv.id}`)).status, 200)
  const res = await post(rg.port, '/_matrix/client/v3/account/3pid/add', { sid, client_secret: 'inv' }, AUTH)
  t.equal(res.status, 403, 'refused once the invite is revoked')
  t.same(binds(hs), [])
})

t.test('only_check_at_registration: the account endpoints are not policed', async (t) => {
  const { hs, rg } = await start(t, { ...POLICY, only_check_at_registration: true })
  const res = await post(rg.port, '/_matrix/client/v3/account/3pid/add', { sid: 'is-sid', client_secret: 'x' }, AUTH)
  t.equal(res.status, 200)
  const legacy = await post(rg.port, '/_matrix/client/r0/account/3pid', { threePidCreds: { sid: 'is-sid', client_secret: 'x' } }, AUTH)
  t.equal(legacy.status, 200)
  t.equal(binds(hs).length, 2)
})

t.test('what binds nothing is forwarded as Synapse would answer it', async (t) => {
  const { hs, rg } = await start(t)
  // no credentials at all (Synapse: "Missing param"), GET lists the account's 3PIDs, and
  // /account/3pid/bind binds at the identity server, which anyone can ask directly (documented)
  t.equal((await post(rg.port, '/_matrix/client/v3/account/3pid', {}, AUTH)).status, 200)
  t.equal((await post(rg.port, '/_matrix/client/v3/account/3pid/bind', { id_server: 'is', id_access_token: 't', sid: 'is-sid', client_secret: 'x' }, AUTH)).status, 200)
  t.equal(hs.received.length, 2)
})
