import t from 'tap'
import { startRegguard } from '../helpers/regguard.js'
import { startUiaHomeserver } from '../helpers/uia-homeserver.js'
import { chunkedBody, emailBody, errcode, policedArrivals, POLICY, post, setup, TOKEN, ALLOWED_EMAIL, DENIED_EMAIL } from './helpers.js'

// Bodies over 64 KiB on the policed paths: 413 M_TOO_LARGE, nothing forwarded, however the size
// is announced (Content-Length, chunked, or a Content-Length the client never fulfils).

const LIMIT = 64 * 1024
const REGISTER = '/_matrix/client/v3/register'

/** A JSON body of exactly `size` bytes: the object, then spaces (which JSON allows). */
function padded (json: string, size: number): Buffer {
  return Buffer.concat([Buffer.from(json), Buffer.alloc(size - Buffer.byteLength(json), ' ')])
}

const head = (path: string, framing: string[]): string[] => [`POST ${path} HTTP/1.1`, 'Host: h', 'Connection: close', 'Content-Type: application/json', ...framing]

t.test('requestToken: over the limit is 413 and never forwarded', async (t) => {
  const { hs, rg } = await setup(t)
  for (const email of [DENIED_EMAIL, ALLOWED_EMAIL]) {
    const big = padded(emailBody(email), LIMIT + 1)
    const cases: Array<[string, string[], Buffer]> = [
      ['Content-Length one byte over', [`Content-Length: ${big.length}`], big],
      ['Content-Length 1 MB', [`Content-Length: ${1024 * 1024}`], padded(emailBody(email), 1024 * 1024)],
      ['Content-Length announced, body never sent', ['Content-Length: 100000000'], Buffer.alloc(0)],
      ['chunked, one byte over', ['Transfer-Encoding: chunked'], chunkedBody(big, 4096)],
      ['chunked, 1 MB', ['Transfer-Encoding: chunked'], chunkedBody(padded(emailBody(email), 1024 * 1024), 16384)]
    ]
    for (const [name, framing, body] of cases) {
      const res = await post(rg.port, head(TOKEN, framing), body, 5000)
      t.equal(res.status, 413, `${email} ${name}: 413`)
      t.equal(errcode(res), 'M_TOO_LARGE', `${email} ${name}`)
    }
  }
  t.same(policedArrivals(hs).map((r) => r.url), [], 'nothing forwarded')
})

t.test('requestToken: exactly at the limit is judged like any other body', async (t) => {
  const { hs, rg } = await setup(t)
  const denied = padded(emailBody(DENIED_EMAIL), LIMIT)
  const no = await post(rg.port, head(TOKEN, [`Content-Length: ${denied.length}`]), denied)
  t.equal(no.status, 403)
  t.equal(hs.received.length, 0)
  for (const framing of [[`Content-Length: ${LIMIT}`], ['Transfer-Encoding: chunked']]) {
    hs.received.length = 0
    const allowed = padded(emailBody(ALLOWED_EMAIL), LIMIT)
    const yes = await post(rg.port, head(TOKEN, framing), framing[0]?.startsWith('Transfer') === true ? chunkedBody(allowed, 1000) : allowed)
    t.equal(yes.status, 200, framing[0] as string)
    t.equal(hs.received.length, 1)
    t.ok(hs.received[0]?.body.equals(allowed), 'forwarded byte for byte')
  }
})

t.test('/register: over the limit is 413, the homeserver never asked, no account', async (t) => {
  const hs = await startUiaHomeserver(t)
  const rg = await startRegguard(t, hs.url, POLICY)
  const big = padded(JSON.stringify({ username: 'u', password: 'p', auth: { type: 'm.login.dummy' } }), LIMIT + 1)
  for (const [framing, body] of [[[`Content-Length: ${big.length}`], big], [['Transfer-Encoding: chunked'], chunkedBody(big, 8192)]] as Array<[string[], Buffer]>) {
    const res = await post(rg.port, head(REGISTER, framing), body, 5000)
    t.equal(res.status, 413, framing[0] as string)
    t.equal(errcode(res), 'M_TOO_LARGE')
  }
  t.equal(hs.receivedMatching('/register').length, 0)
  t.same(hs.accounts, [])
})
