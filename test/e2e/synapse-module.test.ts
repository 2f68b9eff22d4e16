import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { accountExists, freshRig, holdRig, installClients, makeAdmin, restartSynapseWith, rigMissing, runClient, stopRig, SYNAPSE_URL } from '../helpers/synapse.js'
import { startGate, type Gate } from './installed-gate.js'

// End to end: the real Synapse 1.67 (the rig) with regguard's module (synapse-module/) loaded
// from its PYTHONPATH, asking the installed `regguard` command's admin listener. The requests
// here go straight to Synapse unless they say otherwise: what the module refuses, it refuses
// for traffic regguard's proxy never sees. Synapse answers a registration the module denied
// 429 "Rate limited" (synapse/handlers/register.py), a 3PID invite it refused 403 M_FORBIDDEN.

t.setTimeout(300_000)

const MODULE_DIR = fileURLToPath(new URL('../../synapse-module/', import.meta.url))
const MODULE_TOKEN = 'e2e-synapse-module-token'

const missing = rigMissing()
if (missing !== null) {
  if (process.env.CI === '1') t.fail(missing)
  else t.plan(0, missing)
} else {
  await suite()
}

interface Answer { status: number, body: Record<string, unknown> }

async function post (path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(`${SYNAPSE_URL}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  const text = await r.text()
  let parsed: Record<string, unknown>
  try { parsed = JSON.parse(text) as Record<string, unknown> } catch { parsed = { text: text.slice(0, 2000) } }
  return { status: r.status, body: parsed }
}

/** m.login.dummy registration straight at Synapse, every request with this User-Agent. */
async function dummyRegister (user: string, userAgent: string): Promise<Answer> {
  const headers = { 'user-agent': userAgent }
  const password = `rig-Passw0rd-${user}`
  const first = await post('/_matrix/client/v3/register', { username: user, password }, headers)
  if (first.status !== 401) return first
  return await post('/_matrix/client/v3/register', { username: user, password, auth: { type: 'm.login.dummy', session: first.body.session } }, headers)
}

async function suite (): Promise<void> {
  const release = await holdRig()
  t.teardown(release)
  t.teardown(stopRig)
  await freshRig()
  installClients(fileURLToPath(new URL('./clients/', import.meta.url)))
  const adminToken = await makeAdmin('rgadmin', 'rig-admin-Passw0rd')

  const gate = await startGate(t, {
    require_3pid: true,
    threepid: { email: { domain: { whitelist: ['allowed.test'], blacklist: ['blocked.test'] } } },
    username: { banned: { literals: ['root'] } },
    requester: { banned_user_agents: { substrings: ['EvilBot'] } }
  }, adminToken, { admin: { synapse_module_token: MODULE_TOKEN }, invites: { learn: { source: 'module' } } })
  const adminPort = (JSON.parse(readFileSync(gate.configFile, 'utf8')) as { admin: { port: number } }).admin.port

  const withModule = async (config: Record<string, unknown>): Promise<void> => {
    const modules = [{ module: 'regguard_synapse.RegguardSpamChecker', config: { url: `http://127.0.0.1:${adminPort}`, token: MODULE_TOKEN, timeout: 5, ...config } }]
    // Synapse itself lets m.login.dummy register: only the module stands for require_3pid here
    await restartSynapseWith({ modules: JSON.stringify(modules), registrations_require_3pid: '[]', enable_registration_without_verification: 'true' }, { pythonPath: [MODULE_DIR] })
  }
  await withModule({})

  /** The module's registration checks regguard logged, newest last */
  const checks = (): Array<Record<string, unknown>> => gate.logs.filter((l) => l.msg === 'synapse module registration check')
  // regguard's log line comes over its stdout pipe, which may trail Synapse's answer a little
  const checkAfter = async (before: number): Promise<Record<string, unknown> | undefined> => {
    for (let i = 0; i < 100 && checks().length <= before; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    return checks()[before]
  }

  const registersDirect = async (tt: Test, user: string, email: string): Promise<void> => {
    const r = await runClient('email_register.mjs', [user, email, SYNAPSE_URL])
    tt.equal(r.result, `OK @${user}:localhost`, `${user} <${email}> registers straight at Synapse`, { stdout: r.stdout, regguard: gate.tail() })
    tt.ok(await accountExists(adminToken, `@${user}:localhost`), `Synapse has @${user}:localhost`)
  }
  const refusedDirect = async (tt: Test, user: string, email: string): Promise<void> => {
    const r = await runClient('email_register.mjs', [user, email, SYNAPSE_URL])
    tt.match(r.result, /^FAILED /, `${user} <${email}> is refused straight at Synapse`, { stdout: r.stdout })
    tt.notOk(await accountExists(adminToken, `@${user}:localhost`), `Synapse has no @${user}:localhost`)
  }

  await t.test('Synapse\'s admin API and shared-secret registration pass (admin_registrations: allow)', async (tt) => {
    let before = checks().length
    const r = await fetch(`${SYNAPSE_URL}/_synapse/admin/v2/users/${encodeURIComponent('@inviter:localhost')}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'rig-Passw0rd-inviter' })
    })
    tt.equal(r.status, 201, await r.text())
    tt.ok(await accountExists(adminToken, '@inviter:localhost'))
    tt.match(await checkAfter(before), { decision: 'allow', rule: 'admin_registrations', requests: 0 }, 'regguard was asked, with no user agent and no IP')
    before = checks().length
    await makeAdmin('rgadmin2', 'rig-admin-Passw0rd')
    tt.ok(await accountExists(adminToken, '@rgadmin2:localhost'), 'shared-secret registration')
    tt.match(await checkAfter(before), { decision: 'allow', rule: 'admin_registrations' })
  })

  await t.test('an allowed address registers straight at Synapse: the module asked and regguard allowed', async (tt) => {
    const before = checks().length
    await registersDirect(tt, 'carol', 'carol@allowed.test')
    const check = await checkAfter(before)
    tt.equal(checks().length, before + 1, 'one registration check')
    tt.match(check, { decision: 'allow', rule: 'whitelist', address: 'carol@allowed.test' })
  })

  await t.test('a denied address, a banned username, a banned user agent, no email under require_3pid: refused', async (tt) => {
    let before = checks().length
    await refusedDirect(tt, 'mallory', 'mallory@denied.test')
    tt.match(await checkAfter(before), { decision: 'deny', rule: 'default', address: 'mallory@denied.test' })
    before = checks().length
    await refusedDirect(tt, 'root', 'root@allowed.test')
    tt.match(await checkAfter(before), { decision: 'deny', rule: 'username.banned' })

    before = checks().length
    const bot = await dummyRegister('botty', 'EvilBot/3.0')
    tt.equal(bot.status, 429, 'Synapse answers a denied registration 429', { body: bot.body })
    tt.match(await checkAfter(before), { decision: 'deny', rule: 'requester' })
    tt.notOk(await accountExists(adminToken, '@botty:localhost'))

    before = checks().length
    const plain = await dummyRegister('dave', 'Mozilla/5.0')
    tt.equal(plain.status, 429, 'no email, no SSO provider: refused', { body: plain.body })
    tt.match(await checkAfter(before), { decision: 'deny', rule: 'require_3pid' })
    tt.notOk(await accountExists(adminToken, '@dave:localhost'))
  })

  // set up in a subtest: top-level awaits between subtests would let tap end the root test
  let inviterToken = ''
  let roomId = ''
  await t.test('the inviter logs in straight at Synapse and creates a room', async (tt) => {
    const login = await runClient('rooms.mjs', ['login', SYNAPSE_URL, 'inviter', 'rig-Passw0rd-inviter'])
    tt.match(login.result, /^OK /, { stdout: login.stdout })
    inviterToken = login.result.slice(3)
    const created = await runClient('rooms.mjs', ['create', SYNAPSE_URL, inviterToken])
    tt.match(created.result, /^OK /, { stdout: created.stdout })
    roomId = created.result.slice(3)
  })
  const thirdPartyInvites = async (): Promise<number> => {
    const r = await runClient('rooms.mjs', ['third-party-invites', SYNAPSE_URL, inviterToken, roomId])
    if (!r.result.startsWith('OK ')) throw new Error(`third-party-invites failed: ${r.result}`)
    return Number(r.result.slice(3))
  }
  const invites = (): Promise<Map<string, string[]>> => gate.invites()

  await t.test('a 3PID invite of a blacklisted address is refused by Synapse (M_FORBIDDEN)', async (tt) => {
    const r = await runClient('rooms.mjs', ['invite', SYNAPSE_URL, inviterToken, roomId, 'eve@blocked.test'])
    tt.match(r.result, /^FAILED M_FORBIDDEN /, 'Synapse refuses it', { stdout: r.stdout, regguard: gate.tail() })
    tt.equal(await thirdPartyInvites(), 0, 'no m.room.third_party_invite was made')
    tt.notOk((await invites()).has('eve@blocked.test'), 'nothing recorded')
    tt.ok(gate.logs.some((l) => l.msg === 'synapse module invite check' && l.decision === 'deny' && l.rule === 'blacklist'), 'the module asked regguard')
  })

  await t.test('a genuine invite is learned with its inviter and opens registration through regguard', async (tt) => {
    const r = await runClient('rooms.mjs', ['invite', SYNAPSE_URL, inviterToken, roomId, 'friend@denied.test'])
    tt.equal(r.result, 'OK {}', 'Synapse made the invite', { stdout: r.stdout, regguard: gate.tail() })
    tt.equal(await thirdPartyInvites(), 1)
    const row = (await invites()).get('friend@denied.test')
    tt.ok(row !== undefined, 'regguard recorded it', { regguard: gate.tail() })
    tt.ok(row?.includes('@inviter:localhost'), 'with its inviter', { row })
    const beforeReg = checks().length
    const reg = await runClient('email_register.mjs', ['friend', 'friend@denied.test', gate.url])
    tt.equal(reg.result, 'OK @friend:localhost', 'the invited address registers through regguard', { stdout: reg.stdout, regguard: gate.tail() })
    tt.match(await checkAfter(beforeReg), { decision: 'allow', rule: 'invite', address: 'friend@denied.test' }, 'and the module, asked by Synapse at /register, allowed it by the invite')
  })

  await t.test('invites.learn.source module: an invite through the proxy is learned once, by the module', async (tt) => {
    const r = await runClient('rooms.mjs', ['invite', gate.url, inviterToken, roomId, 'other@denied.test'])
    tt.equal(r.result, 'OK {}', { stdout: r.stdout })
    const list = await gate.cli(['invites', 'list'])
    const rows = list.stdout.split('\n').filter((l) => l.split('\t')[2] === 'other@denied.test')
    tt.equal(rows.length, 1, 'one record', { stdout: list.stdout })
    tt.notOk(gate.logs.some((l) => l.msg === 'invite not learned' || l.msg === 'invite recorded'), 'the proxy did not try to learn it from traffic')
  })

  await t.test('regguard down: registrations and invites are refused (on_error: deny)', async (tt) => {
    await gate.stop()
    await refusedDirect(tt, 'carol2', 'carol2@allowed.test')
    const r = await runClient('rooms.mjs', ['invite', SYNAPSE_URL, inviterToken, roomId, 'late@allowed.test'])
    tt.match(r.result, /^FAILED M_FORBIDDEN /, 'the invite is refused', { stdout: r.stdout })
  })

  await t.test('regguard down with on_error: allow: Synapse goes on', async (tt) => {
    await withModule({ on_error: 'allow', timeout: 2 })
    await registersDirect(tt, 'carol3', 'carol3@allowed.test')
  })
}
