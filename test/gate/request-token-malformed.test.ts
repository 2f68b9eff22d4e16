import { connect } from 'node:net'
import t from 'tap'
import { startHomeserver, type Reply } from '../helpers/homeserver.js'
import { parseRawResponse, rawPost, type RawResponse } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// Every malformed requestToken body gets the answer Synapse itself would give
// (shared/reference/synapse-3pid-facts.md, "Errors"), as JSON, and never reaches the homeserver.

const policy = {
  register: {
    policy: {
      allowed: false,
      threepid: {
        email: { domain: { whitelist: ['*example.org'], blacklist: ['evil.example.org'] } },
        msisdn: { pattern: { whitelist: ['44\\d+'] } }
      }
    }
  }
}

interface Row {
  name: string
  body: string | Buffer
  status: number
  errcode: string
  error: string
}

const NOT_JSON = { status: 400, errcode: 'M_NOT_JSON', error: 'Content not JSON.' }
const BAD_JSON = { status: 400, errcode: 'M_BAD_JSON', error: 'Content must be a JSON object.' }
const BAD_SECRET = { status: 400, errcode: 'M_INVALID_PARAM', error: 'Invalid client_secret parameter' }
const missing = (keys: string[]): Omit<Row, 'name' | 'body'> =>
  ({ status: 400, errcode: 'M_MISSING_PARAM', error: `Missing params: [${keys.map((k) => `'${k}'`).join(', ')}]` })

function commonRows (valid: Record<string, unknown>, required: string[]): Row[] {
  const without = (k: string): string => { const b: Record<string, unknown> = { ...valid }; delete b[k]; return JSON.stringify(b) }
  const withSecret = (s: unknown): string => JSON.stringify({ ...valid, client_secret: s })
  return [
    { name: 'not JSON', body: '{"client_secret": "abc",', ...NOT_JSON },
    { name: 'empty body', body: '', ...NOT_JSON },
    { name: 'plain text', body: 'client_secret=abc', ...NOT_JSON },
    { name: 'invalid UTF-8', body: Buffer.concat([Buffer.from('{"client_secret":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), ...NOT_JSON },
    { name: 'JSON array', body: JSON.stringify([valid]), ...BAD_JSON },
    { name: 'JSON string', body: '"hello"', ...BAD_JSON },
    { name: 'JSON number', body: '42', ...BAD_JSON },
    { name: 'JSON null', body: 'null', ...BAD_JSON },
    { name: 'empty object', body: '{}', ...missing(required) },
    ...required.map((k) => ({ name: `missing ${k}`, body: without(k), ...missing([k]) })),
    // the missing-param check comes before the client_secret check, as in Synapse
    { name: 'missing send_attempt and bad secret', body: JSON.stringify({ ...valid, client_secret: 'has space', send_attempt: undefined }), ...missing(['send_attempt']) },
    { name: 'client_secret with a space', body: withSecret('has space'), ...BAD_SECRET },
    { name: 'empty client_secret', body: withSecret(''), ...BAD_SECRET },
    { name: 'client_secret of 256 characters', body: withSecret('a'.repeat(256)), ...BAD_SECRET },
    { name: 'client_secret with a slash', body: withSecret('abc/def'), ...BAD_SECRET }
  ]
}

const EMAIL_VALID = { client_secret: 'abc', email: 'alice@example.org', send_attempt: 1 }
const MSISDN_VALID = { client_secret: 'abc', country: 'GB', phone_number: '07700 900123', send_attempt: 1 }
const BAD_EMAIL = { status: 400, errcode: 'M_UNKNOWN', error: 'Unable to parse email address' }
const BAD_PHONE = { status: 400, errcode: 'M_INVALID_PARAM', error: 'Unable to parse phone number' }

const ROWS: Record<'email' | 'msisdn', Row[]> = {
  email: [
    ...commonRows(EMAIL_VALID, ['client_secret', 'email', 'send_attempt']),
    { name: 'email without @', body: JSON.stringify({ ...EMAIL_VALID, email: 'alice.example.org' }), ...BAD_EMAIL },
    { name: 'email with two @', body: JSON.stringify({ ...EMAIL_VALID, email: 'alice@evil.example.org@example.org' }), ...BAD_EMAIL },
    { name: 'email too short', body: JSON.stringify({ ...EMAIL_VALID, email: ' @ ' }), ...BAD_EMAIL },
    { name: 'email over 500 characters', body: JSON.stringify({ ...EMAIL_VALID, email: 'a'.repeat(500) + '@example.org' }), ...BAD_EMAIL }
  ],
  msisdn: [
    ...commonRows(MSISDN_VALID, ['client_secret', 'country', 'phone_number', 'send_attempt']),
    { name: 'phone number of letters', body: JSON.stringify({ ...MSISDN_VALID, phone_number: 'call me maybe' }), ...BAD_PHONE },
    { name: 'unknown country', body: JSON.stringify({ ...MSISDN_VALID, country: 'XX', phone_number: '7700900123' }), ...BAD_PHONE }
  ]
}

const ENDPOINTS = ['register', 'account/3pid'] as const

type Asserts = Pick<typeof t, 'equal' | 'match' | 'strictSame' | 'fail'>

function assertJsonError (t: Asserts, res: RawResponse, want: Omit<Row, 'name' | 'body'>): void {
  t.equal(res.status, want.status, 'status')
  t.match(res.headers['content-type'], /^application\/json/, 'JSON content type')
  let body: unknown
  try { body = JSON.parse(res.body) } catch { t.fail(`body is not JSON: ${res.body}`); return }
  t.strictSame(body, { errcode: want.errcode, error: want.error }, 'errcode and message')
}

for (const medium of ['email', 'msisdn'] as const) {
  for (const endpoint of ENDPOINTS) {
    t.test(`${endpoint} ${medium}: malformed bodies get Synapse's answer and never reach the homeserver`, async (t) => {
      const hs = await startHomeserver(t)
      const rg = await startRegguard(t, hs.url, policy)
      const path = `/_matrix/client/v3/${endpoint}/${medium}/requestToken`
      for (const row of ROWS[medium]) {
        await t.test(row.name, async (t) => {
          const res = await rawPost(rg.port, path, row.body, { 'Content-Type': 'application/json' })
          assertJsonError(t, res, row)
        })
      }
      t.equal(hs.received.length, 0, 'the homeserver saw none of them')
      // control: the valid body of this medium does reach it, so the rows above were judged, not dropped
      const ok = await rawPost(rg.port, path, JSON.stringify(medium === 'email' ? EMAIL_VALID : MSISDN_VALID), { 'Content-Type': 'application/json' })
      t.equal(ok.status, 200)
      t.equal(hs.received.length, 1)
    })
  }
}

t.test('denied rows: 403 M_THREEPID_DENIED with the wording of each endpoint', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, policy)
  const cases = [
    ['register', 'email', { ...EMAIL_VALID, email: 'eve@evil.example.org' }, 'Your email domain is not authorized to register on this server'],
    ['account/3pid', 'email', { ...EMAIL_VALID, email: 'eve@evil.example.org' }, 'Your email domain is not authorized on this server'],
    ['register', 'msisdn', { ...MSISDN_VALID, country: 'US', phone_number: '(202) 555-0123' }, 'Phone numbers are not authorized to register on this server'],
    ['account/3pid', 'msisdn', { ...MSISDN_VALID, country: 'US', phone_number: '(202) 555-0123' }, 'Account phone numbers are not authorized on this server']
  ] as const
  for (const [endpoint, medium, body, error] of cases) {
    const res = await rawPost(rg.port, `/_matrix/client/r0/${endpoint}/${medium}/requestToken`, JSON.stringify(body), { 'Content-Type': 'application/json' })
    assertJsonError(t, res, { status: 403, errcode: 'M_THREEPID_DENIED', error })
  }
  t.equal(hs.received.length, 0)
})

t.test("homeserver rows (already in use, rate limited) come back from the homeserver untouched", async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, policy)
  const inUse = '{"errcode":"M_THREEPID_IN_USE","error":"Email is already in use"}'
  const limited = '{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":2000}'
  hs.respond((r): Reply => r.body.includes('send_attempt":1')
    ? { status: 400, headers: { 'Content-Type': 'application/json' }, body: inUse }
    : { status: 429, headers: { 'Content-Type': 'application/json', 'Retry-After': '2' }, body: limited })
  const path = '/_matrix/client/v3/register/email/requestToken'
  const a = await rawPost(rg.port, path, JSON.stringify(EMAIL_VALID))
  t.equal(a.status, 400)
  t.equal(a.body, inUse)
  const b = await rawPost(rg.port, path, JSON.stringify({ ...EMAIL_VALID, send_attempt: 2 }))
  t.equal(b.status, 429)
  t.equal(b.headers['retry-after'], '2')
  t.equal(b.body, limited)
  t.equal(hs.received.length, 2)
})

/**
 * Sends `head`, then the body pieces one by one, and resolves as soon as a whole response has
 * arrived: regguard closes the connection after a 413 while the client may still be writing,
 * and a reset must not lose the answer that came before it.
 */
function sendAndRead (port: number, head: string, pieces: Buffer[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve(parseRawResponse(Buffer.concat(chunks).toString('latin1')))
    }
    const timer = setTimeout(finish, 5000)
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      const text = Buffer.concat(chunks).toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      const len = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))
      if (end !== -1 && len !== null && text.length - end - 4 >= Number(len[1])) finish()
    })
    socket.on('error', (err) => { if (chunks.length === 0 && !done) { done = true; clearTimeout(timer); reject(err) } else finish() })
    socket.on('close', finish)
    socket.write(head)
    let i = 0
    const next = (): void => {
      if (done || i >= pieces.length) return
      socket.write(pieces[i++] as Buffer, () => setImmediate(next))
    }
    next()
  })
}

const LIMIT = 64 * 1024

function paddedBody (size: number): Buffer {
  // a valid, allowed request padded with whitespace to exactly `size` bytes
  const json = JSON.stringify(EMAIL_VALID)
  return Buffer.from(json.slice(0, -1) + ' '.repeat(size - json.length) + '}')
}

function chunked (body: Buffer, pieceSize: number): Buffer[] {
  const out: Buffer[] = []
  for (let o = 0; o < body.length; o += pieceSize) {
    const p = body.subarray(o, o + pieceSize)
    out.push(Buffer.concat([Buffer.from(p.length.toString(16) + '\r\n'), p, Buffer.from('\r\n')]))
  }
  out.push(Buffer.from('0\r\n\r\n'))
  return out
}

for (const endpoint of ENDPOINTS) {
  const path = `/_matrix/client/v3/${endpoint}/email/requestToken`
  t.test(`${endpoint}: a body over 64 KiB with Content-Length gets 413 M_TOO_LARGE`, async (t) => {
    const hs = await startHomeserver(t)
    const rg = await startRegguard(t, hs.url, policy)
    const body = paddedBody(LIMIT + 1)
    const head = `POST ${path} HTTP/1.1\r\nHost: matrix.example.org\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
    const res = await sendAndRead(rg.port, head, [body.subarray(0, 1000), body.subarray(1000)])
    assertJsonError(t, res, { status: 413, errcode: 'M_TOO_LARGE', error: 'Request body too large' })
    t.equal(hs.received.length, 0)
  })

  t.test(`${endpoint}: a chunked body over 64 KiB (no Content-Length) gets 413 M_TOO_LARGE`, async (t) => {
    const hs = await startHomeserver(t)
    const rg = await startRegguard(t, hs.url, policy)
    const body = paddedBody(LIMIT + 4096)
    const head = `POST ${path} HTTP/1.1\r\nHost: matrix.example.org\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`
    const res = await sendAndRead(rg.port, head, chunked(body, 8192))
    assertJsonError(t, res, { status: 413, errcode: 'M_TOO_LARGE', error: 'Request body too large' })
    t.equal(hs.received.length, 0)
  })

  t.test(`${endpoint}: a body of exactly 64 KiB is read and forwarded`, async (t) => {
    const hs = await startHomeserver(t)
    const rg = await startRegguard(t, hs.url, policy)
    const body = paddedBody(LIMIT)
    const plain = await rawPost(rg.port, path, body, { 'Content-Type': 'application/json' })
    t.equal(plain.status, 200)
    const head = `POST ${path} HTTP/1.1\r\nHost: matrix.example.org\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n`
    const viaChunks = await sendAndRead(rg.port, head, chunked(body, 8192))
    t.equal(viaChunks.status, 200)
    t.equal(hs.received.length, 2)
    for (const r of hs.received) t.ok(r.body.equals(body), 'the exact bytes arrived')
  })
}
