import t from 'tap'
import { URL } from 'node:url'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawRequest } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { rawHttp } from './helpers.js'

// Issue 22, part 5: the threepid_check backend answers without a token (the module sends none).
// A page the operator's browser visits could drive it (a form or fetch to 127.0.0.1, DNS
// rebinding): reading the policy out address by address, filling the history. Without
// admin.threepid_check_token it now answers only a Host naming the admin listener's own
// address, and no request carrying Origin; with the token, any request that carries it.

const Q = '/_regguard/v1/threepid_check?medium=email&address=a%40example.org'

function get (port: number, target: string, headers: string[]) {
  return rawRequest(port, rawHttp([`GET ${target} HTTP/1.1`, 'Connection: close', ...headers]))
}

t.test('without a token: only its own Host, never an Origin', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { homeserver: { server_name: 'hs' }, register: { policy: { allowed: true } } })
  const port = Number(new URL(rg.adminUrl).port)
  t.equal((await get(port, Q, [`Host: 127.0.0.1:${port}`])).status, 200, 'the module, at the listener\'s own address')
  t.equal((await get(port, Q, [`Host: localhost:${port}`])).status, 200, 'localhost names a loopback listener too')
  for (const [name, headers] of [
    ['a rebinding host name', [`Host: evil.example:${port}`]],
    ['another port', ['Host: 127.0.0.1:1']],
    ['no Host', []],
    ['two Hosts', [`Host: 127.0.0.1:${port}`, `Host: 127.0.0.1:${port}`]],
    ['an Origin', [`Host: 127.0.0.1:${port}`, 'Origin: http://evil.example']],
    ['an Origin of null', [`Host: 127.0.0.1:${port}`, 'Origin: null']]
  ] as const) {
    const res = await get(port, Q, [...headers])
    t.ok(res.status === 403 || res.status === 400, `${name}: refused (${res.status})`)
    t.notMatch(res.body, /"hs"/, `${name}: no answer`)
  }
  t.equal((await get(port, `/_regguard/v1/threepid_check/sometoken?medium=email&address=a%40example.org`, [`Host: 127.0.0.1:${port}`])).status, 401, 'a token where none is configured')
})

t.test('with admin.threepid_check_token: the token, whatever the Host', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { homeserver: { server_name: 'hs' }, admin: { threepid_check_token: 'tok-0123456789' }, register: { policy: { allowed: true } } })
  const port = Number(new URL(rg.adminUrl).port)
  const withToken = '/_regguard/v1/threepid_check/tok-0123456789?medium=email&address=a%40example.org'
  t.equal((await get(port, Q, [`Host: 127.0.0.1:${port}`])).status, 401, 'no token: refused even from its own address')
  t.equal((await get(port, '/_regguard/v1/threepid_check/wrong?medium=email&address=a%40example.org', [`Host: 127.0.0.1:${port}`])).status, 401, 'a wrong token')
  const ok = await get(port, withToken, ['Host: regguard.internal:8091'])
  t.equal(ok.status, 200, 'the token in the path (the module\'s url), another Host')
  t.same(JSON.parse(ok.body), { hs: 'hs' })
  t.equal((await get(port, Q, ['Host: regguard.internal', 'Authorization: Bearer tok-0123456789'])).status, 200, 'the token as a bearer token')
})
