import t from 'tap'
import { assertNoDeniedArrived, bodyFor, errcode, MEDIA, post, setup, tokenPath, TOKEN, DENIED_EMAIL } from './helpers.js'

// Synapse reads a requestToken body as JSON whatever Content-Type says (or without one), so
// regguard polices it the same way: denied never forwarded, allowed forwarded with its header.

const TYPES: Array<string | null> = [
  null,
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'image/png'
]

for (const medium of MEDIA) {
  t.test(`${medium}: any Content-Type, or none`, async (t) => {
    const { hs, rg } = await setup(t)
    const path = tokenPath('v3', 'register', medium)
    for (const type of TYPES) {
      const label = type === null ? 'no Content-Type' : `Content-Type "${type}"`
      const head = (body: string): string[] => [`POST ${path} HTTP/1.1`, 'Host: h', 'Connection: close', ...(type === null ? [] : [`Content-Type: ${type}`]), `Content-Length: ${Buffer.byteLength(body)}`]
      hs.received.length = 0
      const denied = bodyFor(medium, true)
      const no = await post(rg.port, head(denied), denied)
      t.equal(no.status, 403, `${label}: denied`)
      t.equal(errcode(no), 'M_THREEPID_DENIED', label)
      t.equal(hs.received.length, 0, `${label}: never forwarded`)

      const allowed = bodyFor(medium, false)
      const yes = await post(rg.port, head(allowed), allowed)
      t.equal(yes.status, 200, `${label}: allowed`)
      t.equal(hs.received.length, 1, label)
      t.equal(hs.received[0]?.body.toString(), allowed, `${label}: body byte for byte`)
      t.equal(hs.received[0]?.headers['content-type'], type === null ? undefined : type, `${label}: header as sent`)
    }
    assertNoDeniedArrived(t, hs)
  })
}

// Values that are not a media type at all. Regression: fastify refused them (415) before any
// route, so an allowed request was refused where Synapse would serve it.
const MALFORMED = ['', 'application/json, text/plain', ';', 'json']

t.test('a malformed Content-Type: a denied address is still never forwarded', async (t) => {
  const { hs, rg } = await setup(t)
  for (const type of MALFORMED) {
    const head = (body: string): string[] => [`POST ${TOKEN} HTTP/1.1`, 'Host: h', 'Connection: close', `Content-Type: ${type}`, `Content-Length: ${Buffer.byteLength(body)}`]
    hs.received.length = 0
    const denied = bodyFor('email', true)
    const no = await post(rg.port, head(denied), denied)
    t.ok(no.status >= 400 && no.status < 500, `"${type}": refused (${no.status})`)
    t.equal(hs.received.length, 0, `"${type}": never forwarded`)
    const allowed = bodyFor('email', false)
    const yes = await post(rg.port, head(allowed), allowed)
    t.equal(yes.status, 200, `"${type}": an allowed address is served, as by Synapse`)
    t.equal(hs.received[0]?.body.toString(), allowed, `"${type}": forwarded byte for byte`)
  }
  assertNoDeniedArrived(t, hs)
})

t.test('a form-encoded body is not JSON to Synapse either: refused, never forwarded', async (t) => {
  const { hs, rg } = await setup(t)
  const body = `client_secret=cs&email=${encodeURIComponent(DENIED_EMAIL)}&send_attempt=1`
  const res = await post(rg.port, [`POST ${TOKEN} HTTP/1.1`, 'Host: h', 'Connection: close', 'Content-Type: application/x-www-form-urlencoded', `Content-Length: ${body.length}`], body)
  t.equal(res.status, 400)
  t.equal(errcode(res), 'M_NOT_JSON')
  t.equal(hs.received.length, 0)
})

t.test('UTF-16 JSON (Synapse decodes UTF-8 only): refused, never forwarded', async (t) => {
  const { hs, rg } = await setup(t)
  const body = Buffer.from(bodyFor('email', true), 'utf16le')
  const res = await post(rg.port, [`POST ${TOKEN} HTTP/1.1`, 'Host: h', 'Connection: close', 'Content-Type: application/json; charset=utf-16le', `Content-Length: ${body.length}`], body)
  t.equal(res.status, 400)
  t.equal(errcode(res), 'M_NOT_JSON')
  t.equal(hs.received.length, 0)
})
