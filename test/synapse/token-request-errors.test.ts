import t from 'tap'
import { matrixError } from '../../src/errors.js'
import { parseTokenRequest } from '../../src/synapse/token-request.js'

// Each row of the error table in shared/reference/synapse-3pid-facts.md, in Synapse's order:
// JSON, object, required params, client_secret, then the address.

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const email = (o: Record<string, unknown>): Uint8Array => bytes(JSON.stringify({ client_secret: 'abc', email: 'a@example.org', send_attempt: 1, ...o }))
const msisdn = (o: Record<string, unknown>): Uint8Array => bytes(JSON.stringify({ client_secret: 'abc', country: 'GB', phone_number: '07700 900123', send_attempt: 1, ...o }))

t.test('M_NOT_JSON: not JSON, invalid UTF-8, a UTF-8 BOM, empty', async (t) => {
  const cases: Array<[string, Uint8Array]> = [
    ['text', bytes('client_secret=abc')],
    ['truncated', bytes('{"client_secret": "abc"')],
    ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
    ['UTF-8 encoded surrogate', new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d])],
    ['UTF-8 BOM', new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('{"client_secret":"abc","email":"a@example.org","send_attempt":1}')])],
    ['empty body', new Uint8Array()],
    ['NaN', bytes('{"send_attempt": NaN}')]
  ]
  for (const [name, body] of cases) {
    t.same(parseTokenRequest('email', body), { ok: false, error: 'NOT_JSON' }, name)
  }
  const spec = matrixError('NOT_JSON')
  t.same(spec, { status: 400, body: { errcode: 'M_NOT_JSON', error: 'Content not JSON.' } })
})

t.test('M_BAD_JSON: JSON that is not an object', async (t) => {
  for (const body of ['[]', '[{"client_secret":"abc"}]', 'null', '1', '1.5', '"x"', 'true']) {
    t.same(parseTokenRequest('msisdn', bytes(body)), { ok: false, error: 'BAD_JSON' }, body)
  }
  const { status, body } = matrixError('BAD_JSON')
  t.equal(status, 400)
  t.equal(body.errcode, 'M_BAD_JSON')
})

t.test('M_MISSING_PARAM: Synapse\'s wording, in its order', async (t) => {
  t.same(parseTokenRequest('email', bytes('{}')), { ok: false, error: 'MISSING_PARAM', message: "Missing params: ['client_secret', 'email', 'send_attempt']" })
  t.same(parseTokenRequest('email', bytes('{"email":"a@b.c","send_attempt":1}')), { ok: false, error: 'MISSING_PARAM', message: "Missing params: ['client_secret']" })
  t.same(parseTokenRequest('email', bytes('{"send_attempt":1,"client_secret":"x"}')), { ok: false, error: 'MISSING_PARAM', message: "Missing params: ['email']" })
  t.same(parseTokenRequest('msisdn', bytes('{"client_secret":"x"}')), { ok: false, error: 'MISSING_PARAM', message: "Missing params: ['country', 'phone_number', 'send_attempt']" })
  t.same(parseTokenRequest('msisdn', bytes('{"phone_number":"1","send_attempt":1}')), { ok: false, error: 'MISSING_PARAM', message: "Missing params: ['client_secret', 'country']" })
  // Python's "k not in body": a null value is present
  const nulls = parseTokenRequest('email', bytes('{"client_secret":null,"email":null,"send_attempt":null}'))
  t.same(nulls, { ok: false, error: 'INVALID_CLIENT_SECRET' }, 'null params are present, then invalid')
  const m = matrixError('MISSING_PARAM', "Missing params: ['client_secret']")
  t.same(m, { status: 400, body: { errcode: 'M_MISSING_PARAM', error: "Missing params: ['client_secret']" } })
})

t.test('missing params are checked before the client_secret and the address', async (t) => {
  t.same(parseTokenRequest('email', bytes('{"client_secret":"bad secret!","email":"not an email"}')), { ok: false, error: 'MISSING_PARAM', message: "Missing params: ['send_attempt']" })
})

t.test('M_INVALID_PARAM client_secret: 1..255 characters of [0-9a-zA-Z.=_-]', async (t) => {
  const valid = ['a', 'A-Z_0.9=', 'x'.repeat(255), 'abc\n', 'x'.repeat(254) + '\n']
  for (const s of valid) t.equal(parseTokenRequest('email', email({ client_secret: s })).ok, true, `valid: ${JSON.stringify(s).slice(0, 40)}`)
  const invalid: unknown[] = ['', 'x'.repeat(256), 'x'.repeat(255) + '\n', 'a b', 'a+b', 'a/b', 'é', '\n', 'abc\n\n', '\nabc', 'abc\r\n', 'abc ', 42, true, ['abc'], { a: 1 }]
  for (const s of invalid) t.same(parseTokenRequest('email', email({ client_secret: s })), { ok: false, error: 'INVALID_CLIENT_SECRET' }, `invalid: ${JSON.stringify(s).slice(0, 40)}`)
  t.same(parseTokenRequest('msisdn', msisdn({ client_secret: 'a b' })), { ok: false, error: 'INVALID_CLIENT_SECRET' }, 'msisdn too')
  t.same(matrixError('INVALID_CLIENT_SECRET'), { status: 400, body: { errcode: 'M_INVALID_PARAM', error: 'Invalid client_secret parameter' } })
})

t.test('the client_secret is checked before the address', async (t) => {
  t.same(parseTokenRequest('email', email({ client_secret: '!', email: 'a@b@c' })), { ok: false, error: 'INVALID_CLIENT_SECRET' })
})

t.test('M_UNKNOWN "Unable to parse email address"', async (t) => {
  for (const e of ['a@b@example.org', 'no-at-sign', '@b', 'x'.repeat(500) + '@example.org', 42, null, ['a@b.c']]) {
    t.same(parseTokenRequest('email', email({ email: e })), { ok: false, error: 'BAD_EMAIL' }, JSON.stringify(e).slice(0, 40))
  }
  t.same(matrixError('BAD_EMAIL'), { status: 400, body: { errcode: 'M_UNKNOWN', error: 'Unable to parse email address' } })
})

t.test('M_INVALID_PARAM "Unable to parse phone number"', async (t) => {
  for (const [country, phone] of [['GB', 'abc'], ['ZZ', '07700 900123'], ['GB', '1'], [null, '07700 900123'], ['GB', 7700900123]]) {
    t.same(parseTokenRequest('msisdn', msisdn({ country, phone_number: phone })), { ok: false, error: 'BAD_PHONE' }, JSON.stringify([country, phone]))
  }
  t.same(matrixError('BAD_PHONE'), { status: 400, body: { errcode: 'M_INVALID_PARAM', error: 'Unable to parse phone number' } })
})

t.test('a good body gives the canonical address and keeps the body', async (t) => {
  const r = parseTokenRequest('email', bytes('{"client_secret":"abc","email":" Alice@Example.ORG ","send_attempt":1,"next_link":"https://x"}'))
  t.same(r, { ok: true, medium: 'email', address: 'alice@example.org', clientSecret: 'abc', body: { client_secret: 'abc', email: ' Alice@Example.ORG ', send_attempt: 1, next_link: 'https://x' } })
  const m = parseTokenRequest('msisdn', msisdn({}))
  t.match(m, { ok: true, medium: 'msisdn', address: '447700900123' })
})

t.test('duplicate JSON keys: the last one wins, as in Python', async (t) => {
  // a proxy reading the first and a homeserver reading the last would judge another address
  const r = parseTokenRequest('email', bytes('{"client_secret":"abc","email":"eve@evil.example","send_attempt":1,"email":"ok@good.example"}'))
  t.match(r, { ok: true, address: 'ok@good.example' })
  const r2 = parseTokenRequest('email', bytes('{"client_secret":"abc","email":"ok@good.example","send_attempt":1,"email":"eve@evil.example"}'))
  t.match(r2, { ok: true, address: 'eve@evil.example' })
  const s = parseTokenRequest('email', bytes('{"client_secret":"bad secret","email":"a@b.c","send_attempt":1,"client_secret":"good"}'))
  t.match(s, { ok: true, clientSecret: 'good' })
})
