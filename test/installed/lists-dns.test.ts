import t from 'tap'
import { startDnsServer } from '../helpers/dns-server.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { startListServer } from '../helpers/list-server.js'
import { adminCall, postRaw, serve } from './run.js'

// What the installed command fetches and looks up itself: live domain lists from an HTTP server
// on loopback, and the mail-server (MX) rules against a DNS server on loopback.

t.setTimeout(120_000)

const EMAIL_TOKEN = '/_matrix/client/v3/register/email/requestToken'
const body = (email: string): string => JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 })
const ask = async (port: number, email: string): Promise<{ status: number, errcode?: string }> => {
  const r = await postRaw(port, EMAIL_TOKEN, body(email), { 'Content-Type': 'application/json' })
  return { status: r.status, errcode: r.status === 200 ? undefined : JSON.parse(r.body).errcode }
}
const arrived = (hs: { receivedMatching: (s: string) => Array<{ body: Buffer }> }): string[] =>
  hs.receivedMatching('requestToken').map((r) => (JSON.parse(r.body.toString()) as { email: string }).email)

t.test('a live blacklist: fetched from the list server before serving, its domains denied', async (t) => {
  const lists = await startListServer(t)
  lists.serve('/disposable.txt', { body: '# disposable\nmailinator.example\n*trash.example\n', etag: '"v1"' })
  const hs = await startHomeserver(t)
  const rg = await serve(t, hs.url, {
    register: { policy: { allowed: true, threepid: { email: { domain: { blacklist_urls: [lists.url('/disposable.txt')] } } } } }
  })
  t.ok(lists.requestsFor('/disposable.txt').length >= 1, 'the list was fetched')
  t.same(await ask(rg.port, 'a@mailinator.example'), { status: 403, errcode: 'M_THREEPID_DENIED' }, 'a listed domain is denied from the first request')
  t.same(await ask(rg.port, 'a@x.trash.example'), { status: 403, errcode: 'M_THREEPID_DENIED' }, 'a listed glob')
  t.same(await ask(rg.port, 'a@fine.example'), { status: 200, errcode: undefined }, 'an unlisted domain is allowed')
  t.same(arrived(hs), ['a@fine.example'], 'only the allowed address reached the homeserver')
  const ready = await adminCall(rg.adminUrl, 'GET', '/ready', undefined, null)
  t.match(ready.body.lists, [{ source: lists.url('/disposable.txt'), entries: 2, last_result: 'ok' }], '/ready shows the list in force')
})

t.test('mail-server rules: MX answers from a DNS server on loopback decide', async (t) => {
  const dns = await startDnsServer(t, {
    'good.example': { MX: [{ preference: 10, exchange: 'mx.good.example' }] },
    'custom.example': { MX: [{ preference: 10, exchange: 'MX1.Mailinator.com.' }] },
    'nullmx.example': { MX: [{ preference: 0, exchange: '.' }] },
    'aonly.example': { A: ['192.0.2.1'] },
    'broken.example': { fail: 'SERVFAIL' }
  })
  const hs = await startHomeserver(t)
  const rg = await serve(t, hs.url, {
    dns: { servers: [dns.address], timeout_ms: 1000 },
    register: { policy: { allowed: true, threepid: { email: { mx: { require: true, blacklist: ['*mailinator.com'], on_error: 'deny' } } } } }
  })
  const cases: Array<[string, number]> = [
    ['a@good.example', 200],
    ['a@aonly.example', 200],
    ['a@custom.example', 403],
    ['a@nullmx.example', 403],
    ['a@nxdomain.example', 403],
    ['a@broken.example', 503]
  ]
  for (const [email, status] of cases) {
    const r = await ask(rg.port, email)
    t.equal(r.status, status, email)
    if (status === 403) t.equal(r.errcode, 'M_THREEPID_DENIED', email)
  }
  t.same(arrived(hs), ['a@good.example', 'a@aonly.example'], 'only deliverable domains with allowed mail servers reached the homeserver')
  for (const name of ['good.example', 'custom.example', 'nullmx.example', 'broken.example']) {
    t.ok(dns.queriesFor(name).some((q) => q.type === 'MX'), `${name}: asked of the configured DNS server`)
  }
})
