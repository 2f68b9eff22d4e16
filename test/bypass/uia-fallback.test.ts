import t from 'tap'
import { randomBytes } from 'node:crypto'
import { startHomeserver, type Homeserver, type Received } from '../helpers/homeserver.js'
import { rawRequest } from '../helpers/raw-http.js'
import { startRegguard, type Started } from '../helpers/regguard.js'
import { emailStage, post, requestEmailToken } from '../helpers/register.js'
import { rawHttp } from './helpers.js'

// Issue 22, part 5: Synapse's fallback pages (POST /auth/{stage}/fallback/web, a pattern with
// no "$") complete m.login.recaptcha and m.login.terms outside /register; the client then only
// continues its session there ({"auth": {"session"}}), and the session completes with whatever
// flow its stages finish. Under require_3pid a flow without an email stage could so be finished
// through regguard. Now the fallback stage is judged as a /register stage, and a bare
// continuation of a session in which no 3PID stage passed regguard is refused while the
// homeserver offers a 3PID-free flow.
// The stand-in: Synapse-like UIA at /register (sessions bound to their target), the fallback
// pages, and requestToken validating at once.

interface Session { target: string, completed: Set<string>, threepid: boolean }

function standIn (hs: Homeserver & { accounts?: string[] }, flows: string[][]): string[] {
  const accounts: string[] = []
  const sessions = new Map<string, Session>()
  const json = (status: number, body: unknown) => ({ status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  const done = (s: Session): boolean => flows.some((f) => f.every((st) => s.completed.has(st)))
  hs.respond((r: Received) => {
    const [path = '', query = ''] = r.url.split('?')
    if (path.endsWith('/requestToken')) return json(200, { sid: 'sid' + randomBytes(4).toString('hex') })
    const fb = /\/auth\/([\w.]*)\/fallback\/web/.exec(path)
    if (fb !== null && r.method === 'POST') {
      const args = new URLSearchParams(query)
      for (const [k, v] of new URLSearchParams(r.body.toString('latin1'))) args.set(k, v)
      const s = sessions.get(args.get('session') ?? '')
      if (s === undefined) return json(400, { errcode: 'M_UNKNOWN', error: 'No session supplied' })
      if (fb[1] === 'm.login.recaptcha' && args.get('g-recaptcha-response') === 'ok') s.completed.add('m.login.recaptcha')
      if (fb[1] === 'm.login.terms') s.completed.add('m.login.terms')
      return { status: 200, headers: { 'Content-Type': 'text/html' }, body: '<html>done</html>' }
    }
    if (!path.endsWith('/register')) return json(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' })
    let body: Record<string, unknown>
    try { body = JSON.parse(r.body.toString() || '{}') as Record<string, unknown> } catch { return json(400, { errcode: 'M_NOT_JSON', error: 'Content not JSON.' }) }
    const auth = (body.auth ?? {}) as Record<string, unknown>
    let id = typeof auth.session === 'string' ? auth.session : null
    if (id === null) { id = randomBytes(6).toString('hex'); sessions.set(id, { target: r.url, completed: new Set(), threepid: false }) }
    const s = sessions.get(id)
    if (s === undefined) return json(400, { errcode: 'M_UNKNOWN', error: 'Unknown session ID' })
    if (s.target !== r.url) return json(403, { errcode: 'M_FORBIDDEN', error: 'Requested operation has changed during the UI authentication session.' })
    if (auth.type === 'm.login.email.identity') { s.completed.add('m.login.email.identity'); s.threepid = true }
    if (auth.type === 'm.login.dummy') s.completed.add('m.login.dummy')
    if (done(s)) {
      const user = `@u${accounts.length + 1}:hs`
      accounts.push(`${user}${s.threepid ? ' (3pid)' : ''}`)
      return json(200, { user_id: user, access_token: 't', device_id: 'D' })
    }
    return json(401, { session: id, flows: flows.map((stages) => ({ stages })), params: {}, completed: [...s.completed] })
  })
  return accounts
}

const FREE_AND_3PID = [['m.login.recaptcha', 'm.login.terms'], ['m.login.recaptcha', 'm.login.terms', 'm.login.email.identity']]
const ONLY_3PID = [['m.login.recaptcha', 'm.login.terms', 'm.login.email.identity']]
const POLICY = { allowed: false, require_3pid: true, threepid: { email: { domain: { whitelist: ['example.org'] } } } }

async function start (t: Parameters<Parameters<typeof t.test>[1]>[0], flows: string[][], policy: Record<string, unknown> = POLICY): Promise<{ hs: Homeserver, rg: Started, accounts: string[] }> {
  const hs = await startHomeserver(t)
  const accounts = standIn(hs, flows)
  const rg = await startRegguard(t, hs.url, { register: { policy } })
  return { hs, rg, accounts }
}

function fallback (port: number, target: string, form: string) {
  return rawRequest(port, rawHttp([`POST ${target} HTTP/1.1`, 'Host: matrix.example.org', 'Connection: close', 'Content-Type: application/x-www-form-urlencoded', `Content-Length: ${form.length}`], form))
}

const REGISTER = '/_matrix/client/v3/register'

t.test('a fallback stage that would finish a 3PID-free flow is refused; so is the bare continuation', async (t) => {
  const { hs, rg, accounts } = await start(t, FREE_AND_3PID)
  const first = await post(rg.port, REGISTER, { username: 'mallory', password: 'p' })
  t.equal(first.status, 401)
  const session = first.body.session as string
  const captcha = await fallback(rg.port, `/_matrix/client/v3/auth/m.login.recaptcha/fallback/web?session=${session}`, 'g-recaptcha-response=ok')
  t.equal(captcha.status, 200, 'recaptcha alone finishes nothing: forwarded')
  for (const target of [
    `/_matrix/client/v3/auth/m.login.terms/fallback/web?session=${session}`,
    `/_matrix/client/r0/auth/m.login.terms/fallback/web/anything?session=${session}`,
    '/_matrix/client/unstable/auth/m.login.terms/fallback/webx'
  ]) {
    const res = await fallback(rg.port, target, target.includes('session=') ? '' : `session=${session}`)
    t.equal(res.status, 403, `${target}: refused, it would finish [recaptcha, terms]`)
  }
  t.equal(hs.received.filter((r) => r.url.includes('m.login.terms')).length, 0, 'no terms fallback reached the homeserver')
  t.equal((await fallback(rg.port, '/_matrix/client/v3/auth/m.login.recaptcha/fallback/web?session=nosuch', 'g-recaptcha-response=ok')).status, 403, 'a session the homeserver will not describe: refused')

  // the terms stage done anyway, where regguard does not look (straight at the homeserver)
  await fallback(hs.port, `/_matrix/client/v3/auth/m.login.terms/fallback/web?session=${session}`, '')
  const bare = await post(rg.port, REGISTER, { auth: { session } })
  t.equal(bare.status, 403, 'the continuation that would complete it is refused')
  t.equal(bare.body.errcode, 'M_FORBIDDEN')
  t.same(accounts, [], 'no account was created')
})

t.test('control: with only 3PID flows the fallback pages and the continuation work, and the email stage completes', async (t) => {
  const { rg, accounts } = await start(t, ONLY_3PID)
  const first = await post(rg.port, REGISTER, { username: 'alice', password: 'p' })
  const session = first.body.session as string
  t.equal((await fallback(rg.port, `/_matrix/client/v3/auth/m.login.recaptcha/fallback/web?session=${session}`, 'g-recaptcha-response=ok')).status, 200)
  t.equal((await fallback(rg.port, '/_matrix/client/v3/auth/m.login.terms/fallback/web', `session=${session}`)).status, 200, 'session in the form body')
  const bare = await post(rg.port, REGISTER, { auth: { session } })
  t.equal(bare.status, 401, 'the bare continuation is forwarded: no flow without a 3PID')
  t.same(bare.body.completed, ['m.login.recaptcha', 'm.login.terms'])
  const tok = await requestEmailToken(rg.port, 'alice@example.org', 'cs1')
  const last = await post(rg.port, REGISTER, emailStage(tok.body.sid as string, 'cs1', session))
  t.equal(last.status, 200)
  t.same(accounts, ['@u1:hs (3pid)'])
})

t.test('control: after an email stage passed, a 3PID-free flow on offer does not stop the continuation', async (t) => {
  const { rg, accounts } = await start(t, [['m.login.dummy'], ['m.login.email.identity', 'm.login.terms']])
  const first = await post(rg.port, REGISTER, { username: 'carol', password: 'p' })
  const session = first.body.session as string
  const tok = await requestEmailToken(rg.port, 'carol@example.org', 'cs2')
  t.equal((await post(rg.port, REGISTER, emailStage(tok.body.sid as string, 'cs2', session))).status, 401)
  t.equal((await fallback(rg.port, `/_matrix/client/v3/auth/m.login.terms/fallback/web?session=${session}`, '')).status, 200, 'terms through the fallback page')
  const bare = await post(rg.port, REGISTER, { auth: { session } })
  t.equal(bare.status, 200, 'completed: the email stage passed regguard')
  t.same(accounts, ['@u1:hs (3pid)'])
})

t.test('without require_3pid the fallback pages are forwarded', async (t) => {
  const { hs, rg } = await start(t, FREE_AND_3PID, { allowed: true })
  const res = await fallback(rg.port, '/_matrix/client/v3/auth/m.login.terms/fallback/web?session=nope', '')
  t.equal(res.status, 400, 'the homeserver\'s own answer')
  t.equal(hs.received.length, 1)
})
