import fc from 'fast-check'
import t from 'tap'
import { parseJsonObject } from '../../src/synapse/token-request.js'
import { python } from '../helpers/python.js'

// Synapse's parse_json_object_from_request: body.decode("utf-8") (strict), json_decoder.decode,
// a dict. regguard checks the bytes with buffer.isUtf8 and parses them with JSON.parse; here
// every generated body gets the same verdict (not JSON / not an object / an object, and the
// same object) from Python. Bytes near UTF-8's edges are over-represented: surrogates encoded,
// overlong forms, truncated sequences, code points past U+10FFFF, a BOM.

// Python's json also reads NaN, Infinity and -Infinity, which Synapse's decoder refuses
// (synapse.util.json_decoder: parse_constant raises); duplicate keys keep the last, as JSON.parse
const PY = `
import json, sys
def refuse(c): raise ValueError(c)
dec = json.JSONDecoder(parse_constant=refuse)
# the value as JSON.stringify writes it: a number past a double's range (1e400) is inf in
# Python and Infinity in JS, which JSON.stringify writes as null
def js(v):
    if isinstance(v, float) and v in (float("inf"), float("-inf")): return None
    if isinstance(v, dict): return {k: js(x) for k, x in v.items()}
    if isinstance(v, list): return [js(x) for x in v]
    return v
out = []
for h in json.load(sys.stdin):
    try:
        v = dec.decode(bytes.fromhex(h).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        out.append(["NOT_JSON"]); continue
    out.append(["OBJECT", json.dumps(js(v), sort_keys=True, separators=(",", ":"))] if isinstance(v, dict) else ["BAD_JSON"])
json.dump(out, sys.stdout)
`

const sorted = (v: unknown): unknown => v !== null && typeof v === 'object' && !Array.isArray(v)
  ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]))
  : Array.isArray(v) ? v.map(sorted) : v

function verdict (bytes: Uint8Array): [string] | [string, string] {
  const r = parseJsonObject(bytes)
  // as Python's json.dumps(ensure_ascii=True): DEL and everything past ASCII as \uXXXX escapes
  return r.ok ? ['OBJECT', JSON.stringify(sorted(r.value)).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))] : [r.error]
}

const EDGES = [
  [0xef, 0xbb, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xed, 0x9f, 0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xc2, 0x80],
  [0xe0, 0x80, 0x80], [0xe0, 0xa0, 0x80], [0xf0, 0x8f, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff], [0xfe], [0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98]
]

t.test('property: every body gets the verdict Python gives it', async (t) => {
  const fragment = fc.oneof(
    fc.constantFrom(...EDGES.map((b) => Uint8Array.from(b))),
    fc.constantFrom('{"a":"', '"}', '{"email":"x@y.org","client_secret":"s"}', '[1]', 'null', ' ', '\u00e9', '\ud83d\ude00', 'NaN', '1e400').map((s) => new TextEncoder().encode(s)),
    fc.uint8Array({ minLength: 1, maxLength: 3 })
  )
  // a JSON object with a string value built of the fragments: mostly valid JSON, so the UTF-8
  // check is what decides
  const inString = fc.array(fragment, { maxLength: 5 }).map((parts) => Buffer.concat([Buffer.from('{"v":"'), ...parts, Buffer.from('"}')]))
  const anyBytes = fc.array(fragment, { maxLength: 6 }).map((parts) => Buffer.concat(parts))
  const inputs = fc.sample(fc.oneof(inString, anyBytes), { numRuns: 4000, seed: 11 })
  const py = python<Array<[string] | [string, string]>>(PY, inputs.map((b) => b.toString('hex')))
  t.equal(py.length, inputs.length)
  const ours = inputs.map(verdict)
  const kinds = new Set(py.map((v) => v[0]))
  t.same([...kinds].sort(), ['BAD_JSON', 'NOT_JSON', 'OBJECT'], 'the sample reaches all three verdicts')
  const bad = inputs.map((b, i) => [b.toString('hex'), ours[i], py[i]] as const).filter(([, o, p]) => JSON.stringify(o) !== JSON.stringify(p))
  t.same(bad.slice(0, 5), [], 'bodies read differently from Python')
})

t.test('a Uint8Array view into a larger buffer is read from its own bytes only', async (t) => {
  const whole = new TextEncoder().encode('xx{"a":1}yy')
  t.same(parseJsonObject(whole.subarray(2, 9)), { ok: true, value: { a: 1 } })
})
