import { createHash } from 'node:crypto'
import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost, rawRequest } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { ADMIN_TOKEN, eventually, listInvites } from './helpers.js'

// POST .../rooms/{roomId}/invite with a 3PID: forwarded byte for byte, recorded once the
// homeserver answers 200, never when it refuses or when the body is not a usable 3PID invite.

const config = { admin: { token: ADMIN_TOKEN }, invites: { ttl: 3_600_000 } }

async function setup (t: { teardown: (fn: () => unknown) => void }) {
  const hs = await startHomeserver(t)
  // invites teach only with a known inviter (issue 8): the stand-in names one for each token
  hs.answerWhoami()
  const rg = await startRegguard(t, hs.url, config)
  // the invite is written after the answer went out: wait for a later, successful one
  const sentinel = async (n: number): Promise<void> => {
    const address = `sentinel${n}@example.net`
    const r = await rawPost(rg.port, '/_matrix/client/v3/rooms/!s:example.org/invite', JSON.stringify({ medium: 'email', address, id_server: 'is' }), { Authorization: 'Bearer inviter' })
    if (r.status !== 200) throw new Error('sentinel refused')
    await eventually(async () => (await listInvites(rg.adminUrl, `&medium=email&address=${address}`))[0])
  }
  const nonSentinel = async () => (await listInvites(rg.adminUrl)).filter((i) => !i.address.startsWith('sentinel'))
  return { hs, rg, sentinel, nonSentinel }
}

for (const prefix of ['api/v1', 'r0', 'v3', 'unstable']) {
  t.test(`${prefix}: an accepted 3PID invite is recorded and arrives byte for byte`, async (t) => {
    const { hs, rg } = await setup(t)
    hs.respond(() => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' }))
    const target = `/_matrix/client/${prefix}/rooms/%21abc%3Aexample.org/invite?via=example.org`
    const body = '{ "id_server":"id.example.org", "id_access_token":"x",  "medium" : "email", "address": " Bob@Example.ORG " }'
    const before = Date.now()
    const res = await rawPost(rg.port, target, body, { 'Content-Type': 'application/json', Authorization: 'Bearer u' })
    t.equal(res.status, 200)
    t.equal(res.body, '{}')
    t.equal(hs.received.length, 1)
    t.equal(hs.received[0]!.url, target)
    t.equal(hs.received[0]!.body.toString(), body)
    t.equal(hs.received[0]!.headers.authorization, 'Bearer u')
    const inv = await eventually(async () => (await listInvites(rg.adminUrl))[0])
    t.match(inv, { medium: 'email', address: 'bob@example.org', room_id: '!abc:example.org', source: 'traffic', revoked_at: null })
    t.ok(inv!.expires_at >= before + 3_600_000 && inv!.expires_at <= Date.now() + 3_600_000, 'expires after invites.ttl')
  })
}

t.test('msisdn invites are recorded in E.164 without "+"; PUT with a transaction id too', async (t) => {
  const { rg } = await setup(t)
  await rawPost(rg.port, '/_matrix/client/v3/rooms/!r:x/invite', JSON.stringify({ medium: 'msisdn', address: '+44 7700 900123', id_server: 'is' }), { Authorization: 'Bearer inviter' })
  const putBody = '{"medium":"email","address":"put@example.org"}'
  const put = await rawRequest(rg.port, ['PUT /_matrix/client/v3/rooms/!p:x/invite/txn1 HTTP/1.1', 'Host: x', 'Connection: close', 'Authorization: Bearer inviter', `Content-Length: ${putBody.length}`, '', putBody].join('\r\n'))
  t.equal(put.status, 200)
  const all = await eventually(async () => { const l = await listInvites(rg.adminUrl); return l.length === 2 ? l : undefined })
  t.same(all?.map((i) => [i.medium, i.address, i.room_id]).sort(), [['email', 'put@example.org', '!p:x'], ['msisdn', '447700900123', '!r:x']])
})

t.test('nothing is recorded when the homeserver refuses, or the body is not a usable 3PID invite', async (t) => {
  const { hs, rg, sentinel, nonSentinel } = await setup(t)
  hs.respond((r) => r.body.toString().includes('refused')
    ? { status: 403, headers: { 'Content-Type': 'application/json' }, body: '{"errcode":"M_FORBIDDEN","error":"no"}' }
    : { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' })
  const path = '/_matrix/client/v3/rooms/!r:x/invite'
  const refused = await rawPost(rg.port, path, JSON.stringify({ medium: 'email', address: 'refused@example.org' }), { Authorization: 'Bearer inviter' })
  t.equal(refused.status, 403, 'the refusal reaches the client')
  t.equal(JSON.parse(refused.body).errcode, 'M_FORBIDDEN')
  const bodies = [
    '{"user_id":"@bob:example.org"}', // an ordinary invite
    '{"medium":"email","address":"not-an-address"}',
    '{"medium":"fax","address":"a@example.org"}',
    '{"medium":"email","address":["a@example.org"]}',
    '{"medium":"email","address":"truncated@example.org"', // not JSON
    '["medium","email"]',
    '\xef\xbb\xbf{"medium":"email","address":"bom@example.org"}' // Synapse refuses a BOM as not JSON
  ]
  for (const b of bodies) {
    const r = await rawPost(rg.port, path, Buffer.from(b, 'latin1'), { Authorization: 'Bearer inviter' })
    t.equal(r.status, 200, b)
    t.same(hs.received[hs.received.length - 1]!.body, Buffer.from(b, 'latin1'), `forwarded untouched: ${b}`)
  }
  // an uncanonicalisable msisdn, and a 3PID that is fine but on a path that is not an invite
  await rawPost(rg.port, path, JSON.stringify({ medium: 'msisdn', address: 'abc' }), { Authorization: 'Bearer inviter' })
  await rawPost(rg.port, '/_matrix/client/v3/rooms/!r:x/invite/', JSON.stringify({ medium: 'email', address: 'slash@example.org' }), { Authorization: 'Bearer inviter' })
  await rawPost(rg.port, '/_matrix/client/v3/rooms/!r:x/%69nvite', JSON.stringify({ medium: 'email', address: 'encoded@example.org' }), { Authorization: 'Bearer inviter' })
  await sentinel(1)
  t.same(await nonSentinel(), [], 'nothing recorded')
})

t.test('a body over 1 MiB is forwarded whole and recorded as nothing', async (t) => {
  const { hs, rg, sentinel, nonSentinel } = await setup(t)
  hs.streamBodies = true
  const body = Buffer.from(JSON.stringify({ medium: 'email', address: 'big@example.org', pad: 'x'.repeat(1024 * 1024 + 10) }))
  const res = await rawPost(rg.port, '/_matrix/client/v3/rooms/!r:x/invite', body, { Authorization: 'Bearer inviter' })
  t.equal(res.status, 200)
  const got = hs.received[0]!
  t.equal(got.bodyLength, body.length)
  t.equal(got.bodySha256, createHash('sha256').update(body).digest('hex'))
  hs.streamBodies = false
  await sentinel(1)
  t.same(await nonSentinel(), [])
})

t.test('a chunked body is read and recorded like any other', async (t) => {
  const { hs, rg } = await setup(t)
  const json = '{"medium":"email","address":"chunked@example.org"}'
  const a = json.slice(0, 10)
  const b = json.slice(10)
  const req = ['POST /_matrix/client/r0/rooms/!c:x/invite HTTP/1.1', 'Host: x', 'Connection: close', 'Authorization: Bearer inviter', 'Transfer-Encoding: chunked', '', `${a.length.toString(16)}\r\n${a}\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`].join('\r\n')
  const res = await rawRequest(rg.port, req)
  t.equal(res.status, 200)
  t.equal(hs.received[0]!.body.toString(), json)
  const inv = await eventually(async () => (await listInvites(rg.adminUrl))[0])
  t.equal(inv?.address, 'chunked@example.org')
})
