import t from 'tap'
import { rawRequest } from '../helpers/raw-http.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { startRegguard } from '../helpers/regguard.js'
import { rawHttp } from './helpers.js'

// Issue 22, part 5: SSO registration makes an account with no 3PID stage at all. Under
// register.policy.require_3pid, /_synapse/client/pick_username/* and /_synapse/client/sso_register
// are refused, as Twisted's resource tree routes them (segment by segment, each percent-decoded).

const TARGETS = [
  ['GET', '/_synapse/client/pick_username/account_details'],
  ['POST', '/_synapse/client/pick_username/account_details'],
  ['GET', '/_synapse/client/pick_username/check?username=mallory'],
  ['GET', '/_synapse/client/pick_username'],
  ['GET', '/_synapse/client/sso_register'],
  ['POST', '/_synapse/client/sso_register'],
  ['GET', '/%5Fsynapse/client/pick_username/account_details'],
  ['GET', '/_synapse/%63lient/sso%5Fregister'],
  ['POST', '/_synapse/client/pick_username/']
] as const

function request (port: number, method: string, target: string) {
  const body = method === 'POST' ? 'username=mallory&use_display_name=true' : ''
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: matrix.example.org', 'Connection: close', ...(method === 'POST' ? ['Content-Type: application/x-www-form-urlencoded', `Content-Length: ${body.length}`] : [])]
  return rawRequest(port, rawHttp(lines, body))
}

t.test('under require_3pid SSO registration is refused before the homeserver', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { register: { policy: { allowed: true, require_3pid: true } } })
  for (const [method, target] of TARGETS) {
    const res = await request(rg.port, method, target)
    t.equal(res.status, 403, `${method} ${target}: refused`)
    t.equal((JSON.parse(res.body) as { errcode: string }).errcode, 'M_FORBIDDEN')
  }
  t.same(hs.received.map((r) => r.url), [], 'none reached the homeserver')
  // the rest of SSO (login of existing users) and other /_synapse/client pages pass
  for (const target of ['/_synapse/client/oidc/callback?code=x', '/_synapse/client/new_user_consent', '/_synapse/client/pick_idp', '/_synapse/client/pick_usernamex', '/_synapse/client/pick_username%2Fx']) {
    t.equal((await request(rg.port, 'GET', target)).status, 200, `${target}: forwarded`)
  }
})

t.test('without require_3pid SSO registration is forwarded', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { register: { policy: { allowed: true } } })
  for (const [method, target] of TARGETS) t.equal((await request(rg.port, method, target)).status, 200, `${method} ${target}`)
  t.equal(hs.received.length, TARGETS.length)
  t.equal(hs.received[1]?.body.toString(), 'username=mallory&use_display_name=true', 'the body as sent')
})
