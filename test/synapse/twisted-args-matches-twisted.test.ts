import fc from 'fast-check'
import t from 'tap'
import { accessToken } from '../../src/synapse/access-token.js'
import { cgiMediaType, parseQs, requestArgs, stringArg, synapseRefusesMultipart } from '../../src/synapse/twisted-args.js'
import { python } from '../helpers/python.js'
import { twistedReads, type OracleOutcome, type OracleRequest } from '../helpers/twisted-oracle.js'

// request.args exactly as Twisted builds them, and Synapse's reading of the access token and of
// `kind`: compared with Twisted itself (test/helpers/twisted-oracle.ts) on generated requests.

const PARSE_HEADER = String.raw`
import json, sys, warnings
warnings.simplefilter('ignore')
from twisted.web.http import _parseHeader
json.dump([_parseHeader(v.encode('latin1'))[0].decode('latin1') for v in json.load(sys.stdin)], sys.stdout)
`

type Case = OracleRequest
type Outcome = OracleOutcome

// Pieces that mean something to parse_qs, unquote_to_bytes and Synapse, plus bytes >= 0x80
const QS_PIECE = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('kind', 'guest', 'user', 'access_token', '%61ccess_token', 'access%5Ftoken', 'access%5ftoken', '%6Bind', 'gues%74', 'a', 'x', '1', 'tok') },
  { weight: 6, arbitrary: fc.constantFrom('&', ';', '=', '+', '%', '%2', '%zz', '%41', '%e9', '%C3%A9', '%00', '%3D', '%26', '%3B', '%2B', '%%', '#', '?', '/') },
  { weight: 2, arbitrary: fc.constantFrom('\xe9', '\xff', '\x80', '\xa0', '\x85', ' ', '"', '{"x":"', '"}') },
  { weight: 2, arbitrary: fc.string({ unit: fc.integer({ min: 0x21, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 4 }) }
)
const NAME = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('kind', '%6Bind', 'ki%6ed', 'access_token', '%61ccess_token', 'access%5Ftoken', 'access+token', 'a', '') },
  { weight: 1, arbitrary: fc.array(QS_PIECE, { maxLength: 3 }).map((p) => p.join('')) }
)
const VALUE = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('guest', 'gues%74', 'user', 'tok', 't%e9', '\xe9', '', '%', 'a+b', '%2B') },
  { weight: 1, arbitrary: fc.array(QS_PIECE, { maxLength: 3 }).map((p) => p.join('')) }
)
// name=value pairs (sometimes without "="), joined by "&" or ";"; or free text of pieces
const pairs = fc.array(fc.tuple(NAME, fc.constantFrom('=', '=', '=', ''), VALUE, fc.constantFrom('&', ';', '&&', '')), { maxLength: 6 })
  .map((ps) => ps.map(([n, e, v, sep]) => n + e + v + sep).join(''))
const qs = fc.oneof(pairs, fc.array(QS_PIECE, { maxLength: 16 }).map((p) => p.join('')))

const WS = fc.constantFrom('', '', '', ' ', '\t', '\x85', '\xa0', '\x0b', '\x0c', '\x1c', '\x1f', ' \xa0 ')
const MEDIA = fc.constantFrom(
  'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded', 'Application/x-www-form-urlencoded',
  'APPLICATION/X-WWW-FORM-URLENCODED', 'application/x-www-form-urlencoded2', 'application/json', 'text/plain',
  'multipart/form-data', 'Multipart/Form-Data', 'multipart/form-data-x', 'x-multipart/form-data', '', '"application/x-www-form-urlencoded"'
)
const PARAM = fc.constantFrom(';', '; charset=utf-8', ';charset="utf-8"', '; a="x;y"', '; a="x\\";y"', '"', '\\"', '";"', '; boundary=xyz', ' ; q=1', ';;', '=')
const contentType = fc.tuple(WS, fc.oneof({ weight: 3, arbitrary: MEDIA }, { weight: 1, arbitrary: fc.tuple(PARAM, MEDIA).map(([p, m]) => p + m) }), WS, fc.array(fc.tuple(PARAM, WS), { maxLength: 3 }))
  .map(([a, m, b, ps]) => a + m + b + ps.map(([p, w]) => p + w).join(''))
const AUTH = fc.constantFrom('Bearer tok', 'Bearer  tok', 'bearer tok', 'Bearer', 'Bearer ', 'Bearer tok x', 'Bearer t\xe9', 'Basic dG9r', '', 'Bearer\ttok')
const header = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('Content-Type', 'content-type', 'CONTENT-TYPE'), contentType) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('Authorization', 'authorization'), AUTH) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('X-Other'), fc.constant('1')) }
)
const body = fc.oneof(
  { weight: 4, arbitrary: qs },
  { weight: 1, arbitrary: fc.constantFrom('', '{"x":"&kind=guest&"}', '{"auth":{"type":"m.login.dummy"}}', '--b\r\nContent-Disposition: form-data; name="kind"\r\n\r\nguest\r\n--b--\r\n') }
)
const caseArb: fc.Arbitrary<Case> = fc.record({
  method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT'),
  target: fc.tuple(fc.constantFrom('/_matrix/client/v3/register', '/p', ''), fc.option(qs, { nil: undefined, freq: 5 })).map(([p, q]) => q === undefined ? p : `${p}?${q}`),
  headers: fc.array(header, { maxLength: 4 }),
  body
})

function ours (c: Case): Outcome {
  const rawHeaders = c.headers.flat()
  if (synapseRefusesMultipart(c.method, rawHeaders)) return { refused: true }
  const { args } = requestArgs({ method: c.method, target: c.target, rawHeaders, body: Buffer.from(c.body, 'latin1') })
  const kind = stringArg(args, 'kind')
  return { refused: false, args: [...args], token: accessToken(rawHeaders, args), kind: kind === undefined ? 'user' : kind ?? 400 }
}

t.test('request.args, Synapse\'s multipart refusal and the access token agree with Twisted on generated requests', async (t) => {
  const cases = fc.sample(caseArb, { numRuns: 6000, seed: 0x7a157ed })
  const theirs = twistedReads(cases)
  t.equal(theirs.length, cases.length)
  const differ = cases.map((c, i) => ({ c, ours: ours(c), theirs: theirs[i] })).filter((x) => JSON.stringify(x.ours) !== JSON.stringify(x.theirs))
  t.same(differ.slice(0, 5), [], 'requests read differently')
  // the generator reaches the cases that matter, so the agreement above means something
  const reached = (p: (o: Outcome, c: Case) => boolean): number => theirs.filter((o, i) => p(o, cases[i] as Case)).length
  const formReplaced = reached((o, c) => !o.refused && c.method === 'POST' && c.target.includes('?') && c.body.includes('=') && c.headers.some(([n]) => n.toLowerCase() === 'content-type'))
  t.ok(formReplaced > 300, `POSTs with a query, a Content-Type and a body: ${formReplaced}`)
  t.ok(reached((o) => o.refused) > 100, 'multipart POSTs Synapse refuses')
  t.ok(reached((o) => !o.refused && o.token.ok && o.token.from === 'args') > 100, 'tokens read from the arguments')
  t.ok(reached((o) => !o.refused && o.token.ok && o.token.from === 'header') > 20, 'tokens read from Authorization')
  t.ok(reached((o) => !o.refused && !o.token.ok && o.token.why === 'mixed') > 20, 'header and argument mixed')
  const guests = reached((o) => !o.refused && o.kind === 'guest')
  t.ok(guests > 50, `a guest asked for: ${guests}`)
  t.ok(reached((o) => !o.refused && o.kind === 400) > 20, 'a kind Synapse refuses as not ASCII')
})

t.test('parse_qs on bare query strings, bytes >= 0x80 and broken escapes included', async (t) => {
  const inputs = fc.sample(qs, { numRuns: 4000, seed: 20250812 })
  const theirs = python<Array<Array<[string, string[]]>>>(String.raw`
import json, sys
from twisted.web.http import parse_qs
json.dump([[[k.decode('latin1'), [v.decode('latin1') for v in vs]] for k, vs in parse_qs(q.encode('latin1'), 1).items()] for q in json.load(sys.stdin)], sys.stdout)
`, inputs)
  const differ = inputs.filter((q, i) => JSON.stringify([...parseQs(q)]) !== JSON.stringify(theirs[i]))
  t.same(differ.slice(0, 5), [], 'query strings parsed differently')
})

t.test('the media type as _parseHeader (cgi.parse_header) reads it', async (t) => {
  const inputs = fc.sample(contentType, { numRuns: 4000, seed: 4242 })
  const theirs = python<string[]>(PARSE_HEADER, inputs)
  const differ = inputs.filter((v, i) => cgiMediaType(v) !== theirs[i]).map((v) => JSON.stringify(v))
  t.same(differ.slice(0, 5), [], 'Content-Type values read differently')
})

t.test('the cases the issue names, read as Twisted reads them', async (t) => {
  const form = [['Content-Type', 'application/x-www-form-urlencoded']] as Array<[string, string]>
  const cases: Case[] = [
    { method: 'POST', target: '/r?kind=user', headers: form, body: '{"x":"&kind=guest&"}' },
    { method: 'POST', target: '/r?kind=guest', headers: form, body: 'kind=user' },
    { method: 'GET', target: '/r?kind=user', headers: form, body: 'kind=guest' },
    { method: 'POST', target: '/r?%61ccess_token=a;access%5Ftoken=b', headers: [], body: '' },
    { method: 'POST', target: '/r', headers: [['Content-Type', 'text/plain'], ['Content-Type', 'application/x-www-form-urlencoded']], body: 'kind=guest' },
    { method: 'POST', target: '/r', headers: [['Content-Type', '\xa0application/x-www-form-urlencoded\x85; charset="a;b"']], body: 'kind=guest' }
  ]
  const theirs = twistedReads(cases)
  t.same(cases.map(ours), theirs)
  t.same(theirs.map((o) => o.refused ? null : o.kind), ['guest', 'user', 'user', 'user', 'user', 'guest'], 'what Synapse\'s parse_string(request, "kind") gets')
})
