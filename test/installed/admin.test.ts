import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { installedPackageDir } from '../helpers/installed.js'
import { ADMIN_TOKEN, adminCall, postRaw, serve } from './run.js'

// The installed command's admin listener: the admin token, the invites API with its effect on
// the gate, health, readiness and metrics, and the console's files as the package ships them.

t.setTimeout(120_000)

const EMAIL_TOKEN = '/_matrix/client/v3/register/email/requestToken'
const CLOSED = { register: { policy: { allowed: false } } }
const tokenStatus = async (port: number, email: string): Promise<number> =>
  (await postRaw(port, EMAIL_TOKEN, JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 }), { 'Content-Type': 'application/json' })).status

t.test('admin API: token checked; invites added, listed and revoked, each in force at the gate at once', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await serve(t, hs.url, CLOSED)
  const INVITES = '/_regguard/admin/v1/invites'

  const none = await adminCall(rg.adminUrl, 'GET', INVITES, undefined, null)
  t.equal(none.status, 401, 'no token: 401')
  t.equal(none.body.errcode, 'M_MISSING_TOKEN')
  const wrong = await adminCall(rg.adminUrl, 'POST', INVITES, { medium: 'email', address: 'x@partner.test' }, 'not-the-token')
  t.equal(wrong.status, 401, 'a wrong token: 401')
  t.equal(wrong.body.errcode, 'M_UNKNOWN_TOKEN')
  t.same((await adminCall(rg.adminUrl, 'GET', INVITES)).body.invites, [], 'the wrong token added nothing')
  t.same((await adminCall(rg.adminUrl, 'GET', '/health', undefined, null)).body, { status: 'ok' }, '/health needs no token')

  t.equal(await tokenStatus(rg.port, 'ann@partner.test'), 403, 'denied before the invite')
  const added = await adminCall(rg.adminUrl, 'POST', INVITES, { medium: 'email', address: ' Ann@Partner.TEST', inviter: '@ops:example.org' })
  t.equal(added.status, 201, 'added')
  t.match(added.body, { id: String, medium: 'email', address: 'ann@partner.test', source: 'admin', inviter: '@ops:example.org' }, 'kept canonical')
  const phone = await adminCall(rg.adminUrl, 'POST', INVITES, { medium: 'msisdn', address: '+44 7700 900123' })
  t.equal(phone.status, 201)
  t.equal(phone.body.address, '447700900123')
  const bad = await adminCall(rg.adminUrl, 'POST', INVITES, { medium: 'email', address: 'not an address' })
  t.equal(bad.status, 400, 'an unusable address is refused')
  t.equal(bad.body.errcode, 'M_INVALID_PARAM')

  const listed = await adminCall(rg.adminUrl, 'GET', `${INVITES}?medium=email&address=ann%40partner.test`)
  t.same(listed.body.invites.map((i: { id: string }) => i.id), [added.body.id], 'listed, filtered by address')
  t.equal(await tokenStatus(rg.port, 'ann@partner.test'), 200, 'the invited address is allowed from the next request')
  t.equal(hs.receivedMatching('requestToken').length, 1, 'and forwarded')

  const revoked = await adminCall(rg.adminUrl, 'DELETE', `${INVITES}/${added.body.id as string}`)
  t.same([revoked.status, revoked.body], [200, { revoked: true }], 'revoked')
  t.equal(await tokenStatus(rg.port, 'ann@partner.test'), 403, 'denied again once revoked')
  t.equal((await adminCall(rg.adminUrl, 'DELETE', `${INVITES}/no-such-id`)).status, 404, 'an unknown id: 404')

  const byOps = await adminCall(rg.adminUrl, 'POST', INVITES, { medium: 'email', address: 'ben@partner.test', inviter: '@ops:example.org' })
  t.equal(byOps.status, 201)
  const all = await adminCall(rg.adminUrl, 'POST', `${INVITES}/revoke`, { inviter: '@ops:example.org' })
  t.same(all.body, { revoked: 1 }, "every pending invite of an inviter revoked (the one left of @ops's)")
  t.equal(await tokenStatus(rg.port, 'ben@partner.test'), 403)
  t.equal(hs.receivedMatching('requestToken').length, 1, 'no denied request reached the homeserver')

  const ready = await adminCall(rg.adminUrl, 'GET', '/ready', undefined, null)
  t.equal(ready.status, 200, `ready: the homeserver and the store answer (${JSON.stringify(ready.body)})`)
  const metrics = await fetch(`${rg.adminUrl}/metrics`)
  t.equal(metrics.status, 200)
  const text = await metrics.text()
  t.match(text, /^regguard_\w+/m, 'regguard metrics are exported')
  t.match(text, /^regguard_process_resident_memory_bytes \d+/m, "prom-client's process metrics too")
})

t.test("the console's page and assets are served from the installed package", async (t) => {
  const hs = await startHomeserver(t)
  const rg = await serve(t, hs.url)
  const shipped = join(installedPackageDir(), 'dist', 'console')

  const page = await fetch(`${rg.adminUrl}/_regguard/admin/`)
  t.equal(page.status, 200, 'the console page')
  t.match(page.headers.get('content-type'), /^text\/html/)
  t.match(page.headers.get('content-security-policy'), /default-src 'self'/, 'with its CSP')
  const html = await page.text()
  t.equal(html, readFileSync(join(shipped, 'index.html'), 'utf8'), 'the shipped index.html')
  const scripts = [...html.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1] as string)
  const styles = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => m[1] as string)
  t.ok(scripts.length > 0, 'the page loads a script')
  for (const [asset, type] of [...scripts.map((s) => [s, /^text\/javascript/] as const), ...styles.map((s) => [s, /^text\/css/] as const)]) {
    const res = await fetch(new URL(asset, `${rg.adminUrl}/_regguard/admin/`))
    t.equal(res.status, 200, `${asset} served`)
    t.match(res.headers.get('content-type'), type, `${asset}: its type`)
    const body = Buffer.from(await res.arrayBuffer())
    t.ok(body.length > 0, `${asset}: not empty`)
    t.ok(body.equals(readFileSync(join(shipped, asset))), `${asset}: the shipped bytes`)
  }
  t.equal((await fetch(`${rg.adminUrl}/_regguard/admin/no-such-file.js`)).status, 404, 'nothing else')
  t.equal((await adminCall(rg.adminUrl, 'GET', '/_regguard/admin/v1/invites', undefined, ADMIN_TOKEN)).status, 200, 'the API the console calls answers with the token')
})
