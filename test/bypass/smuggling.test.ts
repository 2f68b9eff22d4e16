import t from 'tap'
import { parseRawResponse, rawRequest, type RawResponse } from '../helpers/raw-http.js'
import { assertNoDeniedArrived, chunkedBody, emailBody, policedArrivals, rawHttp, setup, TOKEN, ALLOWED_EMAIL, DENIED_EMAIL } from './helpers.js'

// Request smuggling: ambiguous framing that might make regguard judge one body while the
// homeserver reads another, or hide a denied requestToken where regguard does not look. Whatever
// regguard answers, the homeserver must never receive a denied requestToken; regguard frames what
// it forwards itself (Content-Length from the bytes it read).

const denied = emailBody(DENIED_EMAIL)
const allowed = emailBody(ALLOWED_EMAIL)
const deniedRequest = rawHttp([`POST ${TOKEN} HTTP/1.1`, 'Host: h', 'Content-Type: application/json', `Content-Length: ${denied.length}`], denied)
const start = `POST ${TOKEN} HTTP/1.1`

/** The final answer, past a 100 Continue. */
function final (res: RawResponse): RawResponse {
  return res.status === 100 ? parseRawResponse(res.body) : res
}

// Transfer-Encoding spellings a front end and a back end may disagree about
const TE_SPELLINGS = [
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: CHUNKED',
  'Transfer-Encoding: xchunked',
  'Transfer-Encoding : chunked',
  'Transfer-Encoding:\tchunked',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: identity, chunked',
  'Transfer-Encoding: "chunked"',
  'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity',
  'Transfer-Encoding: identity\r\nTransfer-Encoding: chunked',
  'X-Pad: a\r\n Transfer-Encoding: chunked',
  'Transfer-Encoding: chunked\u000b',
  'Transfer_Encoding: chunked',
  ' Transfer-Encoding: chunked'
]

const CASES: Array<[string, Buffer]> = []
for (const te of TE_SPELLINGS) {
  const denChunks = chunkedBody(denied, 8)
  const allChunks = chunkedBody(allowed, 8)
  // TE.CL: chunked says the denied body; Content-Length says only its first bytes
  CASES.push([`${te} + short Content-Length`, rawHttp([start, 'Host: h', 'Connection: close', te, 'Content-Length: 4'], denChunks)])
  // CL.TE: Content-Length covers an allowed chunked body plus a denied request behind it
  CASES.push([`${te} + long Content-Length hiding a request`, rawHttp([start, 'Host: h', te, `Content-Length: ${allChunks.length + deniedRequest.length}`], Buffer.concat([allChunks, deniedRequest]))])
  // no Content-Length at all: only the TE spelling decides where the body ends
  CASES.push([`${te} alone`, rawHttp([start, 'Host: h', 'Connection: close', te], denChunks)])
}
CASES.push(
  ['two different Content-Lengths', rawHttp([start, 'Host: h', `Content-Length: ${allowed.length}`, `Content-Length: ${allowed.length + deniedRequest.length}`], Buffer.concat([Buffer.from(allowed), deniedRequest]))],
  ['two Content-Lengths in one header', rawHttp([start, 'Host: h', `Content-Length: ${allowed.length}, ${allowed.length + deniedRequest.length}`], Buffer.concat([Buffer.from(allowed), deniedRequest]))],
  ['the same Content-Length twice', rawHttp([start, 'Host: h', 'Connection: close', `Content-Length: ${denied.length}`, `Content-Length: ${denied.length}`], denied)],
  ['a signed Content-Length', rawHttp([start, 'Host: h', 'Connection: close', `Content-Length: +${denied.length}`], denied)],
  ['a hexadecimal Content-Length', rawHttp([start, 'Host: h', 'Connection: close', `Content-Length: 0x${denied.length.toString(16)}`], denied)],
  ['a Content-Length with leading zeros', rawHttp([start, 'Host: h', 'Connection: close', `Content-Length: 000${denied.length}`], denied)],
  ['Content-Length 0 followed by a bare body', rawHttp([start, 'Host: h', 'Content-Length: 0'], denied)],
  ['a chunk size with leading zeros and a huge value', rawHttp([start, 'Host: h', 'Connection: close', 'Transfer-Encoding: chunked'], `0000000000000000000${denied.length.toString(16)}\r\n${denied}\r\n0\r\n\r\n`)],
  ['a chunk size overflowing 64 bits', rawHttp([start, 'Host: h', 'Connection: close', 'Transfer-Encoding: chunked'], `1000000000000000${denied.length.toString(16)}\r\n${denied}\r\n0\r\n\r\n`)],
  ['a bare LF line ending in the chunks', rawHttp([start, 'Host: h', 'Connection: close', 'Transfer-Encoding: chunked'], `${denied.length.toString(16)}\n${denied}\n0\n\n`)],
  ['Upgrade on the policed path', rawHttp([start, 'Host: h', 'Connection: Upgrade', 'Upgrade: websocket', `Content-Length: ${denied.length}`], denied)],
  ['Expect: 100-continue', rawHttp([start, 'Host: h', 'Connection: close', 'Expect: 100-continue', `Content-Length: ${denied.length}`], denied)]
)

t.test('ambiguous framing never delivers a denied requestToken', async (t) => {
  const { hs, rg } = await setup(t)
  for (const [name, bytes] of CASES) {
    hs.received.length = 0
    const res = final(await rawRequest(rg.port, bytes, 1500))
    t.ok(res.status === 0 || res.status === 403 || (res.status >= 400 && res.status < 500), `${name}: refused or denied (${res.status})`)
    assertNoDeniedArrived(t, hs, name)
    // whatever did arrive at a policed path is a body regguard read and judged: allowed JSON only
    for (const r of policedArrivals(hs)) t.equal(r.body.toString(), allowed, `${name}: only the allowed body arrived`)
  }
  const ok = await rawRequest(rg.port, rawHttp(['GET /_matrix/client/versions HTTP/1.1', 'Host: h', 'Connection: close']))
  t.equal(ok.status, 200, 'still serving')
})

t.test('pipelining: a denied requestToken behind another request is policed', async (t) => {
  const { hs, rg } = await setup(t)
  // the stand-in answers with a length, so the connection stays usable for the next request
  hs.respond((r) => ({ status: 200, headers: { 'Content-Type': 'application/json', 'Content-Length': '12' }, body: r.url.includes('requestToken') ? '{"sid":"S1"}' : '{"ok":true} ' }))
  const firsts: Array<[string, Buffer]> = [
    ['an allowed requestToken', rawHttp([start, 'Host: h', `Content-Length: ${allowed.length}`], allowed)],
    ['a GET', rawHttp(['GET /_matrix/client/versions HTTP/1.1', 'Host: h'])],
    ['a forwarded POST', rawHttp(['POST /_matrix/client/v3/user/%40a%3Ax/filter HTTP/1.1', 'Host: h', 'Content-Length: 2'], '{}')],
    ['a chunked forwarded POST', rawHttp(['POST /_matrix/client/v3/user/%40a%3Ax/filter HTTP/1.1', 'Host: h', 'Transfer-Encoding: chunked'], chunkedBody('{}', 1))]
  ]
  for (const [name, first] of firsts) {
    hs.received.length = 0
    const closing = rawHttp([start, 'Host: h', 'Connection: close', `Content-Length: ${denied.length}`], denied)
    const res = await rawRequest(rg.port, Buffer.concat([first, closing]), 3000)
    t.equal(res.status, 200, `${name}: first answered`)
    t.match(res.body, /M_THREEPID_DENIED/, `${name}: the pipelined denied request was denied`)
    t.equal(hs.received.length, 1, `${name}: only the first reached the homeserver`)
    assertNoDeniedArrived(t, hs, name)
  }
})

t.test('a denied request inside the body of a forwarded request stays a body', async (t) => {
  const { hs, rg } = await setup(t)
  for (const framing of [[`Content-Length: ${deniedRequest.length}`], ['Transfer-Encoding: chunked']]) {
    hs.received.length = 0
    const body = framing[0]?.startsWith('Transfer') === true ? chunkedBody(deniedRequest, 50) : deniedRequest
    const res = await rawRequest(rg.port, rawHttp(['PUT /_matrix/client/v3/user/%40a%3Ax/account_data/x HTTP/1.1', 'Host: h', 'Connection: close', ...framing], body), 3000)
    t.equal(res.status, 200)
    t.equal(hs.received.length, 1, 'one request arrived')
    t.equal(hs.received[0]?.url, '/_matrix/client/v3/user/%40a%3Ax/account_data/x')
    t.ok(hs.received[0]?.body.equals(deniedRequest), 'with the smuggled bytes as its body, nothing more')
    t.same(policedArrivals(hs), [], 'no requestToken at the homeserver')
  }
})
