import fc from 'fast-check'
import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawRequest } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { twistedReads, type OracleRequest } from '../helpers/twisted-oracle.js'
import { POLICY } from './helpers.js'

// require_3pid: a guest is refused however Synapse would be asked for one. Twisted decides
// (test/helpers/twisted-oracle.ts) what Synapse's parse_string(request, "kind") reads from
// each request: the query, or a form body replacing it, one body being JSON and a form at once.
// Every request goes through regguard to a stand-in homeserver that records what arrives: a
// guest request must never arrive; any other must arrive byte for byte.

const REGISTER = '/_matrix/client/v3/register'
const STRICT = { register: { policy: { ...POLICY.register.policy, require_3pid: true } } }
const FORM = 'application/x-www-form-urlencoded'

function wire (r: OracleRequest, chunked = false): Buffer {
  const body = Buffer.from(r.body, 'latin1')
  const lines = [`${r.method} ${r.target} HTTP/1.1`, 'Host: matrix.example.org', 'Connection: close', chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`]
  for (const [k, v] of r.headers) lines.push(`${k}: ${v}`)
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1')
  if (!chunked) return Buffer.concat([head, body])
  const chunks = body.length === 0 ? [] : [Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')]
  return Buffer.concat([head, ...chunks, Buffer.from('0\r\n\r\n')])
}

type Test = Parameters<Parameters<typeof t.test>[1]>[0]

type Fate = 'refused' | 'forwarded'

/** Sends each request through regguard, checks it against Twisted's reading, returns its fate. */
async function sendAll (t: Test, requests: Array<{ r: OracleRequest, chunked?: boolean }>): Promise<Fate[]> {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, STRICT)
  const judged = twistedReads(requests.map((x) => x.r))
  const fates: Fate[] = []
  for (const [i, { r, chunked }] of requests.entries()) {
    const o = judged[i]
    if (o === undefined) throw new Error('no judgement')
    const label = JSON.stringify({ ...r, chunked })
    const before = hs.received.length
    const res = await rawRequest(rg.port, wire(r, chunked))
    const arrived = hs.received.slice(before)
    const fate: Fate = res.status === 403 ? 'refused' : 'forwarded'
    fates.push(fate)
    // Synapse answers 415 to a multipart POST before reading any argument: either fate is safe
    const expected: Fate | null = o.refused ? null : o.kind === 'guest' ? 'refused' : 'forwarded'
    if (expected !== null) t.equal(fate, expected, `${label}: ${expected} (Synapse reads kind=${String(o.kind)})`)
    if (fate === 'refused') {
      t.match(JSON.parse(res.body) as unknown, { errcode: 'M_FORBIDDEN' }, label)
      t.same(arrived, [], `${label}: nothing reached the homeserver`)
      continue
    }
    t.equal(res.status, 200, label)
    t.equal(arrived.length, 1, `${label}: forwarded once`)
    const got = arrived[0]
    if (got === undefined) continue
    t.equal(got.url, r.target, `${label}: target as sent`)
    t.equal(got.body.toString('latin1'), r.body, `${label}: body byte for byte`)
    const types = (raw: readonly string[]): string[] => raw.filter((_v, j) => j % 2 === 1 && raw[j - 1]?.toLowerCase() === 'content-type')
    // Node trims spaces and tabs around a header value, as Twisted's headerReceived does
    t.same(types(got.rawHeaders), types(r.headers.flat()).map((v) => v.replace(/^[ \t]+|[ \t]+$/g, '')), `${label}: every Content-Type as sent, in order`)
  }
  return fates
}

t.test('a guest asked for by a form body, the query or both is refused; everything else arrives byte for byte', async (t) => {
  const form = (v = FORM): Array<[string, string]> => [['Content-Type', v]]
  const post = (target: string, headers: Array<[string, string]>, body: string): OracleRequest => ({ method: 'POST', target, headers, body })
  const cases: Array<{ r: OracleRequest, chunked?: boolean }> = [
    // the case: valid JSON, and a form with kind=guest
    { r: post(REGISTER, form(), '{"x":"&kind=guest&"}') },
    { r: post(REGISTER, form(), '{"x":"&kind=guest&"}'), chunked: true },
    { r: post(`${REGISTER}?kind=user`, form(), '{"x":"&kind=guest&"}') },
    { r: post(REGISTER, form(`${FORM}; charset=utf-8`), '{"x":";%6Bind=gues%74;"}') },
    { r: post(REGISTER, form(`\xa0${FORM}\x85;a="b;c"`), '{"x":"&kind=guest&"}') },
    { r: post(REGISTER, [['Content-Type', FORM], ['Content-Type', 'application/json']], '{"x":"&kind=guest&"}') },
    { r: post(`${REGISTER}?kind=guest`, form(), '') },
    { r: post(`${REGISTER}?kind=guest`, form('multipart/form-data; boundary=b'), '{}') },
    { r: post(REGISTER, form(), '{"b":";kind=guest;","a":1}') },
    { r: post(REGISTER, form(), 'kind=guest') },
    // Synapse reads no guest here: forwarded untouched
    { r: post(`${REGISTER}?kind=guest`, form(), '{"x":"&kind=user&"}') },
    { r: post(REGISTER, [['Content-Type', 'application/json'], ['Content-Type', FORM]], '{"x":"&kind=guest&"}') },
    { r: post(REGISTER, form(`Application/x-www-form-urlencoded`), '{"x":"&kind=guest&"}') },
    { r: post(REGISTER, form(`"${FORM}"`), '{"x":"&kind=guest&"}') },
    { r: post(REGISTER, form(), '{"x":"&kind=guest2&"}') },
    { r: post(`${REGISTER}?kind=%E9`, form(), '{}') },
    { r: post(REGISTER, form(), '{"x":"&kind=%E9&kind=guest"}') },
    { r: post(`${REGISTER}?kind=user&kind=guest`, [], '{}') },
    { r: { method: 'PUT', target: REGISTER, headers: form(), body: '{"x":"&kind=guest&"}' } }
  ]
  const fates = await sendAll(t, cases)
  t.same(fates, [...Array(10).fill('refused'), ...Array(9).fill('forwarded')], 'the first ten refused, the rest forwarded')
})

t.test('generated queries and bodies: Twisted\'s guests never arrive, the rest arrive byte for byte', async (t) => {
  const name = fc.constantFrom('kind', 'kind', '%6bind', 'k%69nd', 'kin', 'x', '')
  const value = fc.constantFrom('guest', 'guest', 'gues%74', 'guest+', 'user', '%e9', '', '%')
  const text = fc.array(fc.tuple(name, fc.constantFrom('=', '=', ''), value, fc.constantFrom('&', ';', '')), { maxLength: 4 })
    .map((ps) => ps.map(([n, e, v, sep]) => n + e + v + sep).join(''))
  const ctype = fc.constantFrom(FORM, `${FORM};charset=utf-8`, ` ${FORM} `, `\xa0${FORM}`, 'application/json', `X${FORM}`, 'text/plain', 'multipart/form-data')
  const arb = fc.record({
    query: fc.option(text, { nil: undefined, freq: 3 }),
    types: fc.array(ctype, { maxLength: 2 }),
    body: fc.oneof(text.map((s) => JSON.stringify({ x: `&${s}&` })), text, fc.constant(''))
  })
  const cases = fc.sample(arb, { numRuns: 400, seed: 8021 }).map(({ query, types, body }) => ({
    r: { method: 'POST', target: query === undefined ? REGISTER : `${REGISTER}?${query}`, headers: types.map((v) => ['Content-Type', v] as [string, string]), body }
  }))
  const fates = await sendAll(t, cases)
  const refused = fates.filter((f) => f === 'refused').length
  t.ok(refused > 10 && fates.length - refused > 10, `both fates generated: ${refused} refused, ${fates.length - refused} forwarded`)
})
