import t from 'tap'
import { request } from 'undici'
import { startHomeserver, type Reply } from '../helpers/homeserver.js'
import { rawRequest } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// Everything regguard does not police reaches the homeserver as the client sent it, and the
// homeserver's answer reaches the client as it was given; only hop-by-hop headers (which belong
// to each connection, RFC 9110 7.6.1) stop at regguard.

/** Header values of `name` in a raw header list, in order. */
function values (raw: string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === name) out.push(raw[i + 1] as string)
  return out
}

/** All header lines of a raw response head with this name, in order. */
function headLines (head: string, name: string): string[] {
  return head.split('\r\n').slice(1).filter((l) => l.toLowerCase().startsWith(name + ':')).map((l) => l.slice(name.length + 1).trim())
}

const METHODS = ['GET', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'POST'] as const

t.test('every method: method, target with query, Host, Authorization and body reach the homeserver', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url)
  for (const method of METHODS) {
    const target = `/_matrix/client/v3/rooms/!r%3Aexample.org/thing?method=${method}&a=1&a=2&e=%C3%A9`
    const body = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? '' : `{"m":"${method}","é":1}`
    const head = [
      `${method} ${target} HTTP/1.1`,
      'Host: matrix.example.org:8448',
      'Authorization: Bearer syt_secret_token',
      'User-Agent: Element/1.0',
      'X-Multi: first',
      'X-Multi: second',
      'Content-Type: application/json',
      'Connection: close'
    ]
    if (body !== '') head.push(`Content-Length: ${Buffer.byteLength(body)}`)
    const res = await rawRequest(rg.port, head.join('\r\n') + '\r\n\r\n' + body)
    t.equal(res.status, 200, `${method}: answered`)
    const got = hs.received.at(-1)
    if (got === undefined) { t.fail(`${method}: nothing reached the homeserver`); continue }
    t.equal(got.method, method)
    t.equal(got.url, target)
    t.strictSame(values(got.rawHeaders, 'host'), ['matrix.example.org:8448'], `${method}: Host preserved`)
    t.strictSame(values(got.rawHeaders, 'authorization'), ['Bearer syt_secret_token'])
    t.strictSame(values(got.rawHeaders, 'user-agent'), ['Element/1.0'])
    t.strictSame(values(got.rawHeaders, 'x-multi'), ['first', 'second'], `${method}: repeated headers kept in order`)
    t.equal(got.body.toString(), body, `${method}: body bytes`)
    if (method === 'HEAD') t.equal(res.body, '', 'HEAD: no body back')
    else t.equal(JSON.parse(res.body).path, target, `${method}: the homeserver's body back`)
  }
  t.equal(hs.received.length, METHODS.length)
})

t.test('a chunked request body reaches the homeserver whole', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url)
  const head = 'PUT /_matrix/client/v3/user/%40a%3Ab/account_data/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n'
  const res = await rawRequest(rg.port, head + '5\r\n{"a":\r\n3\r\n"b"\r\n1\r\n}\r\n0\r\n\r\n')
  t.equal(res.status, 200)
  t.equal(hs.received[0]?.body.toString(), '{"a":"b"}')
})

t.test('the response comes back unchanged: status, headers (several Set-Cookie), body', async (t) => {
  const hs = await startHomeserver(t)
  const body = Buffer.from('{"weird":  "spacing",\n "bytes": "\u00e9\u2603"}')
  hs.respond(() => ({
    status: 418,
    headers: [
      'Content-Type', 'application/json; charset=utf-8',
      'Set-Cookie', 'a=1; Path=/; HttpOnly',
      'Set-Cookie', 'b=2; Path=/_matrix; Secure',
      'Set-Cookie', 'c=3',
      'X-Custom', 'kept',
      'Cache-Control', 'no-store',
      'Access-Control-Allow-Origin', '*',
      'ETag', '"abc"',
      'Content-Length', String(body.length)
    ],
    body
  }))
  const rg = await startRegguard(t, hs.url)
  const res = await rawRequest(rg.port, 'GET /_matrix/client/v3/teapot HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  t.equal(res.status, 418)
  t.strictSame(headLines(res.head, 'set-cookie'), ['a=1; Path=/; HttpOnly', 'b=2; Path=/_matrix; Secure', 'c=3'], 'every Set-Cookie, in order')
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(res.headers['x-custom'], 'kept')
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['access-control-allow-origin'], '*')
  t.equal(res.headers.etag, '"abc"')
  t.equal(res.headers['content-length'], String(body.length))
  t.ok(Buffer.from(res.body, 'latin1').equals(body), 'body bytes unchanged')
})

t.test('statuses without a body, and HEAD, keep their headers', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond((r): Reply => {
    if (r.url.endsWith('/204')) return { status: 204, headers: { 'X-Kind': 'no-content' } }
    if (r.url.endsWith('/304')) return { status: 304, headers: { ETag: '"v1"' } }
    return { status: 200, headers: { 'Content-Type': 'image/png', 'Content-Length': '12345' } }
  })
  const rg = await startRegguard(t, hs.url)
  const a = await request(`${rg.url}/_matrix/client/v3/x/204`, { method: 'DELETE' })
  t.equal(a.statusCode, 204)
  t.equal(a.headers['x-kind'], 'no-content')
  t.equal(await a.body.text(), '')
  const b = await request(`${rg.url}/_matrix/media/v3/x/304`, { headers: { 'If-None-Match': '"v1"' } })
  t.equal(b.statusCode, 304)
  t.equal(b.headers.etag, '"v1"')
  t.equal(await b.body.text(), '')
  t.equal(values(hs.received[1]?.rawHeaders ?? [], 'if-none-match')[0], '"v1"')
  const c = await rawRequest(rg.port, 'HEAD /_matrix/media/v3/download/x/y HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  t.equal(c.status, 200)
  t.equal(c.headers['content-length'], '12345', 'HEAD keeps the length of the body it would have had')
  t.equal(c.body, '')
})

t.test('hop-by-hop request headers stop at regguard', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url)
  const head = [
    'POST /_matrix/client/v3/keys/upload HTTP/1.1',
    'Host: h',
    'Connection: keep-alive, X-Connection-Only, X-Also-Dropped',
    'Keep-Alive: timeout=5, max=100',
    'Proxy-Connection: keep-alive',
    'Proxy-Authorization: Basic dXNlcjpwYXNz',
    'TE: trailers',
    'Trailer: X-Checksum',
    'X-Connection-Only: secret',
    'X-Also-Dropped: 1',
    'X-End-To-End: kept',
    'Content-Length: 2'
  ].join('\r\n') + '\r\n\r\n{}'
  // keep-alive request: read until the answer is whole, then close
  const res = await rawRequest(rg.port, head, 1500)
  t.equal(res.status, 200)
  const got = hs.received[0]
  if (got === undefined) { t.fail('not forwarded'); return }
  for (const name of ['keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'x-connection-only', 'x-also-dropped']) {
    t.strictSame(values(got.rawHeaders, name), [], `${name} not forwarded`)
  }
  t.notMatch(values(got.rawHeaders, 'connection').join(','), /x-connection-only|x-also-dropped/i, 'the client\'s Connection list is not forwarded')
  t.strictSame(values(got.rawHeaders, 'x-end-to-end'), ['kept'])
  t.equal(got.body.toString(), '{}')
})

t.test('an Upgrade request is forwarded as a plain request, without the upgrade', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url)
  const res = await rawRequest(rg.port, 'GET /_matrix/client/v3/ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', 1500)
  t.equal(res.status, 200, 'the homeserver answered it')
  const got = hs.received[0]
  t.equal(got?.url, '/_matrix/client/v3/ws')
  t.strictSame(values(got?.rawHeaders ?? [], 'upgrade'), [])
  t.notMatch(values(got?.rawHeaders ?? [], 'connection').join(','), /upgrade/i)
})

t.test('hop-by-hop response headers stop at regguard', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond((_r, _req, res) => {
    // written by hand: Node would otherwise manage Connection/Keep-Alive itself
    res.socket?.write([
      'HTTP/1.1 200 OK',
      'Content-Type: application/json',
      'Connection: keep-alive, X-Upstream-Private',
      'Keep-Alive: timeout=60',
      'X-Upstream-Private: secret',
      'Proxy-Authenticate: Basic realm="x"',
      'Trailer: X-Checksum',
      'Upgrade: h2c',
      'X-End-To-End: kept',
      'Content-Length: 11'
    ].join('\r\n') + '\r\n\r\n{"ok":true}')
    return undefined
  })
  const rg = await startRegguard(t, hs.url)
  const res = await rawRequest(rg.port, 'GET /_matrix/client/v3/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  t.equal(res.status, 200)
  t.equal(res.body, '{"ok":true}')
  t.equal(res.headers['x-end-to-end'], 'kept')
  for (const name of ['keep-alive', 'x-upstream-private', 'proxy-authenticate', 'trailer', 'upgrade']) {
    t.equal(res.headers[name], undefined, `${name} not forwarded`)
  }
  t.notMatch(res.headers.connection ?? '', /x-upstream-private/i)
})

t.test('a chunked response without Content-Length streams back whole', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond((_r, _req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.write('part one, ')
    setTimeout(() => res.end('part two'), 50)
    return undefined
  })
  const rg = await startRegguard(t, hs.url)
  const res = await request(`${rg.url}/_matrix/client/v3/events`)
  t.equal(res.statusCode, 200)
  t.equal(await res.body.text(), 'part one, part two')
})
