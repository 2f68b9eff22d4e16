import t from 'tap'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { startRegguard } from '../helpers/regguard.js'
import { ADMIN_TOKEN, adminCall } from '../invites/helpers.js'

const P = '/_regguard/admin/v1/invites'

t.test('the admin API is off without admin.token, and needs the right bearer token', async (t) => {
  const hs = await startHomeserver(t)
  const off = await startRegguard(t, hs.url, {})
  for (const [method, path] of [['GET', P], ['POST', P], ['DELETE', `${P}/1`]] as const) {
    const r = await adminCall(off.adminUrl, method, path, method === 'POST' ? { medium: 'email', address: 'a@example.org' } : undefined)
    t.equal(r.status, 404, `${method} with the API off`)
    t.same(r.body, { errcode: 'M_UNRECOGNIZED', error: 'The admin API is off: set admin.token to enable it' })
  }

  const on = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN } })
  const missing = await adminCall(on.adminUrl, 'GET', P, undefined, null)
  t.equal(missing.status, 401)
  t.equal(missing.body.errcode, 'M_MISSING_TOKEN')
  const basic = await request(on.adminUrl + P, { headers: { authorization: 'Basic dXNlcjpwYXNz' } })
  t.equal(basic.statusCode, 401)
  t.equal((await basic.body.json() as { errcode: string }).errcode, 'M_MISSING_TOKEN', 'not a bearer token')
  for (const wrong of ['nope', ADMIN_TOKEN + 'x', ADMIN_TOKEN.slice(0, -1)]) {
    const r = await adminCall(on.adminUrl, 'POST', P, { medium: 'email', address: 'a@example.org' }, wrong)
    t.equal(r.status, 401)
    t.equal(r.body.errcode, 'M_UNKNOWN_TOKEN')
  }
  t.equal((await adminCall(on.adminUrl, 'GET', P)).status, 200)
  t.same((await adminCall(on.adminUrl, 'GET', P)).body, { invites: [] }, 'nothing was added by refused calls')
  t.equal((await request(on.adminUrl + '/health')).statusCode, 200, 'health needs no token')
})

t.test('add, list, revoke', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN }, invites: { ttl: '2 days' } })
  const before = Date.now()
  const a = await adminCall(rg.adminUrl, 'POST', P, { medium: 'email', address: '  Alice@EXAMPLE.org ' })
  t.equal(a.status, 201)
  t.match(a.body, { id: String, medium: 'email', address: 'alice@example.org', room_id: null, source: 'admin', revoked_at: null })
  t.ok(a.body.expires_at >= before + 2 * 86_400_000 && a.body.expires_at <= Date.now() + 2 * 86_400_000, 'invites.ttl applies')
  const b = await adminCall(rg.adminUrl, 'POST', P, { medium: 'msisdn', address: '+44 7700 900123', expires_in_ms: 60_000 })
  t.equal(b.status, 201)
  t.equal(b.body.address, '447700900123', 'E.164 without +')
  t.ok(b.body.expires_at <= Date.now() + 60_000, 'expires_in_ms applies')

  t.same((await adminCall(rg.adminUrl, 'GET', P)).body, { invites: [a.body, b.body] })
  t.same((await adminCall(rg.adminUrl, 'GET', `${P}?medium=msisdn`)).body.invites.map((i: { id: string }) => i.id), [b.body.id])
  t.same((await adminCall(rg.adminUrl, 'GET', `${P}?medium=email&address=ALICE%40example.org`)).body.invites.map((i: { id: string }) => i.id), [a.body.id], 'address is canonicalised')

  const del = await adminCall(rg.adminUrl, 'DELETE', `${P}/${a.body.id as string}`)
  t.equal(del.status, 200)
  t.same(del.body, { revoked: true })
  const listed = (await adminCall(rg.adminUrl, 'GET', `${P}?medium=email`)).body.invites[0]
  t.type(listed.revoked_at, 'number', 'listed as revoked')
  const unknown = await adminCall(rg.adminUrl, 'DELETE', `${P}/424242`)
  t.equal(unknown.status, 404)
  t.equal(unknown.body.errcode, 'M_NOT_FOUND')
  t.equal((await adminCall(rg.adminUrl, 'DELETE', `${P}/abc`)).status, 404)
})

t.test('pagination with next_from', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN } })
  const ids: string[] = []
  for (let i = 0; i < 5; i++) ids.push((await adminCall(rg.adminUrl, 'POST', P, { medium: 'email', address: `u${i}@example.org` })).body.id)
  const seen: string[] = []
  let next: string | undefined
  let pages = 0
  do {
    const r = await adminCall(rg.adminUrl, 'GET', `${P}?limit=2${next !== undefined ? `&from=${encodeURIComponent(next)}` : ''}`)
    t.equal(r.status, 200)
    seen.push(...r.body.invites.map((i: { id: string }) => i.id))
    next = r.body.next_from
    pages++
  } while (next !== undefined && pages < 10)
  t.equal(pages, 3)
  t.same(seen, ids)
})

t.test('bad requests get Matrix errors', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN } })
  const cases: Array<[unknown, number, string]> = [
    ['{not json', 400, 'M_NOT_JSON'],
    ['', 400, 'M_NOT_JSON'],
    ['[1,2]', 400, 'M_BAD_JSON'],
    [{ address: 'a@example.org' }, 400, 'M_MISSING_PARAM'],
    [{ medium: 'fax', address: 'a@example.org' }, 400, 'M_INVALID_PARAM'],
    [{ medium: 'email', address: 'no-at-sign' }, 400, 'M_INVALID_PARAM'],
    [{ medium: 'email', address: 42 }, 400, 'M_INVALID_PARAM'],
    [{ medium: 'msisdn', address: 'not a number' }, 400, 'M_INVALID_PARAM'],
    [{ medium: 'email', address: 'a@example.org', expires_in_ms: -5 }, 400, 'M_INVALID_PARAM'],
    [{ medium: 'email', address: 'a@example.org', expires_in_ms: '1 day' }, 400, 'M_INVALID_PARAM']
  ]
  for (const [body, status, errcode] of cases) {
    const r = await adminCall(rg.adminUrl, 'POST', P, body)
    t.equal(r.status, status, JSON.stringify(body))
    t.equal(r.body.errcode, errcode, JSON.stringify(body))
    t.type(r.body.error, 'string')
  }
  const missing = await adminCall(rg.adminUrl, 'POST', P, { address: 'a@example.org' })
  t.equal(missing.body.error, "Missing params: ['medium']")
  for (const q of ['?limit=0', '?limit=5000', '?limit=x', '?medium=fax', '?from=garbage', '?medium=email&address=nope', '?limit=1&limit=2']) {
    const r = await adminCall(rg.adminUrl, 'GET', P + q)
    t.equal(r.status, 400, q)
    t.equal(r.body.errcode, 'M_INVALID_PARAM', q)
  }
  const noMedium = await adminCall(rg.adminUrl, 'GET', `${P}?address=a@example.org`)
  t.equal(noMedium.body.errcode, 'M_MISSING_PARAM')
  const big = await adminCall(rg.adminUrl, 'POST', P, JSON.stringify({ medium: 'email', address: 'a@example.org', pad: 'x'.repeat(70_000) }))
  t.equal(big.status, 413)
  t.equal(big.body.errcode, 'M_TOO_LARGE')
  t.same((await adminCall(rg.adminUrl, 'GET', P)).body, { invites: [] }, 'nothing was added')
})

t.test('order=newest lists the newest first (the console), with tokens of its own; another order is refused', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { admin: { token: ADMIN_TOKEN } })
  const ids: string[] = []
  for (const address of ['n1@example.org', 'n2@example.org', 'n3@example.org']) {
    ids.push(String((await adminCall(rg.adminUrl, 'POST', P, { medium: 'email', address })).body.id))
  }
  const first = await adminCall(rg.adminUrl, 'GET', `${P}?order=newest&limit=2`)
  t.equal(first.status, 200)
  t.same(first.body.invites.map((i: { id: string }) => i.id), [ids[2], ids[1]])
  const rest = await adminCall(rg.adminUrl, 'GET', `${P}?order=newest&limit=2&from=${encodeURIComponent(first.body.next_from)}`)
  t.same(rest.body.invites.map((i: { id: string }) => i.id), [ids[0]])
  t.equal(rest.body.next_from, undefined)
  const oldest = await adminCall(rg.adminUrl, 'GET', P)
  t.same(oldest.body.invites.map((i: { id: string }) => i.id), ids, 'oldest first by default')
  const bad = await adminCall(rg.adminUrl, 'GET', `${P}?order=random`)
  t.equal(bad.status, 400)
  t.equal(bad.body.errcode, 'M_INVALID_PARAM')
})
