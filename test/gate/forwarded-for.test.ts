import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost, rawRequest } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// X-Forwarded-For / -Proto are believed only from server.trusted_proxies (loopback by default):
// from anyone else they are replaced by the peer's address, so a client cannot pick the IP the
// homeserver (and regguard's own decision log) attributes the request to.

function values (raw: string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === name) out.push(raw[i + 1] as string)
  return out
}

const SPOOF = [
  'X-Forwarded-For: 203.0.113.7, 198.51.100.2',
  'X-Forwarded-For: 192.0.2.1',
  'X-Forwarded-Proto: https',
  'X-Forwarded-Host: evil.example.org'
]

function get (port: number, extra: string[]): ReturnType<typeof rawRequest> {
  return rawRequest(port, ['GET /_matrix/client/v3/whoami HTTP/1.1', 'Host: matrix.example.org', 'Connection: close', ...extra].join('\r\n') + '\r\n\r\n')
}

const body = JSON.stringify({ client_secret: 'abc', email: 'alice@example.org', send_attempt: 1 })
const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const allowAll = { register: { policy: { allowed: true } } }

t.test('untrusted peer: client-supplied X-Forwarded-* are replaced by the peer address', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { ...allowAll, server: { trusted_proxies: ['10.0.0.1'] }, log: { requests: true } })
  const res = await get(rg.port, SPOOF)
  t.equal(res.status, 200)
  const got = hs.received[0]?.rawHeaders ?? []
  t.strictSame(values(got, 'x-forwarded-for'), ['127.0.0.1'], 'only the peer')
  t.strictSame(values(got, 'x-forwarded-proto'), ['http'], 'the scheme regguard was reached with')
  t.strictSame(values(got, 'x-forwarded-host'), [], 'other X-Forwarded-* dropped')

  await rawPost(rg.port, TOKEN, body, { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https' })
  t.strictSame(values(hs.received[1]?.rawHeaders ?? [], 'x-forwarded-for'), ['127.0.0.1'], 'policed route: the same')
  const decision = rg.logs.find((l) => l.msg === 'policy decision')
  t.equal(decision?.client_ip, '127.0.0.1', 'decision log: the peer, not the spoofed address')
  const lines = rg.logs.filter((l) => l.msg === 'request')
  t.equal(lines.length, 2)
  for (const l of lines) t.equal(l.client_ip, '127.0.0.1', 'request log: the peer')
})

t.test('trusted peer (loopback by default): the chain is kept and the peer appended', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { ...allowAll, log: { requests: true } })
  const res = await get(rg.port, SPOOF)
  t.equal(res.status, 200)
  const got = hs.received[0]?.rawHeaders ?? []
  t.strictSame(values(got, 'x-forwarded-for'), ['203.0.113.7, 198.51.100.2, 192.0.2.1, 127.0.0.1'], 'one header, the whole chain, then the peer')
  t.strictSame(values(got, 'x-forwarded-proto'), ['https'])
  t.strictSame(values(got, 'x-forwarded-host'), ['evil.example.org'])

  // no header from the trusted proxy: the peer alone, scheme http
  await get(rg.port, [])
  t.strictSame(values(hs.received[1]?.rawHeaders ?? [], 'x-forwarded-for'), ['127.0.0.1'])
  t.strictSame(values(hs.received[1]?.rawHeaders ?? [], 'x-forwarded-proto'), ['http'])
})

t.test('trusted peer: the logged client_ip is the nearest untrusted address of the chain', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { ...allowAll, log: { requests: true } })
  // 127.0.0.2 is loopback, so trusted too: the client is the address before it
  await rawPost(rg.port, TOKEN, body, { 'X-Forwarded-For': '198.51.100.9, 203.0.113.7, 127.0.0.2' })
  t.strictSame(values(hs.received[0]?.rawHeaders ?? [], 'x-forwarded-for'), ['198.51.100.9, 203.0.113.7, 127.0.0.2, 127.0.0.1'])
  const decision = rg.logs.find((l) => l.msg === 'policy decision')
  t.equal(decision?.client_ip, '203.0.113.7')
  t.equal(rg.logs.find((l) => l.msg === 'request')?.client_ip, '203.0.113.7')
})

t.test('a trusted range given as CIDR', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { ...allowAll, server: { trusted_proxies: ['127.0.0.0/8'] } })
  await rawPost(rg.port, TOKEN, body, { 'X-Forwarded-For': '203.0.113.7' })
  t.strictSame(values(hs.received[0]?.rawHeaders ?? [], 'x-forwarded-for'), ['203.0.113.7, 127.0.0.1'])
  t.equal(rg.logs.find((l) => l.msg === 'policy decision')?.client_ip, '203.0.113.7')
})

// Regression: fastify's trustProxy was fixed at start while the forwarded headers followed
// the configuration swapped in on reload (SIGHUP); request.ip now asks the runtime in force.
t.test('after a configuration reload, headers and logs follow the new trusted_proxies alike', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { ...allowAll, log: { requests: true } })
  const { loadConfig } = await import('../../src/config/load.js')
  rg.app.reconfigure(loadConfig({ object: { ...allowAll, homeserver: { url: hs.url }, server: { port: 0, trusted_proxies: ['10.0.0.1'] }, admin: { port: 0 }, log: { requests: true } }, env: {} }))
  await rawPost(rg.port, TOKEN, body, { 'X-Forwarded-For': '203.0.113.7' })
  t.strictSame(values(hs.received[0]?.rawHeaders ?? [], 'x-forwarded-for'), ['127.0.0.1'], 'headers: the peer is no longer trusted')
  t.equal(rg.logs.find((l) => l.msg === 'policy decision')?.client_ip, '127.0.0.1', 'decision log: the same rule')
  t.equal(rg.logs.find((l) => l.msg === 'request')?.client_ip, '127.0.0.1', 'request log: the same rule')
})
