import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { startRegguard } from '../helpers/regguard.js'
import { send } from '../invites/learn-helpers.js'
import { createRoomBody } from '../invites/learn-helpers.js'

// Issue 22, part 5: a PUT createRoom / room invite whose requester whoami cannot name (the
// homeserver failed to answer it) used to be forwarded with only part of its transaction key
// claimed, so a replay of it could later teach. Now it is answered 503 and nothing is forwarded.

t.test('whoami failing on a PUT: 503, nothing forwarded', async (t) => {
  const hs = await startHomeserver(t)
  let whoamiFails = true
  hs.respond((r) => {
    if (r.url.includes('/account/whoami')) return whoamiFails ? { status: 500, body: '{"errcode":"M_UNKNOWN","error":"Internal server error"}' } : { status: 200, body: JSON.stringify({ user_id: '@alice:example.org', device_id: 'D' }), headers: { 'Content-Type': 'application/json' } }
    return { status: 200, body: JSON.stringify({ room_id: '!r1:example.org' }), headers: { 'Content-Type': 'application/json' } }
  })
  const rg = await startRegguard(t, hs.url, { homeserver: { server_name: 'example.org' } })
  for (const target of ['/_matrix/client/v3/createRoom/t1', '/_matrix/client/v3/rooms/!r:example.org/invite/t2']) {
    const res = await send(rg.port, 'PUT', target, createRoomBody('x@elsewhere.example'), 'tok')
    t.equal(res.status, 503, `${target}: answered 503`)
    t.equal((JSON.parse(res.body) as { errcode: string }).errcode, 'M_UNKNOWN')
  }
  t.same(hs.received.filter((r) => r.method === 'PUT').map((r) => r.url), [], 'no PUT reached the homeserver')
  t.ok(rg.logs.some((l) => l.reason === 'whoami-failed'), 'logged')

  whoamiFails = false
  const retry = await send(rg.port, 'PUT', '/_matrix/client/v3/createRoom/t1', createRoomBody('x@elsewhere.example'), 'tok')
  t.equal(retry.status, 200, 'the retry, with whoami answering, is forwarded')
  t.equal(hs.received.filter((r) => r.method === 'PUT').length, 1)
  // a POST has no transaction key: forwarded while whoami is asked, as before
  whoamiFails = true
  t.equal((await send(rg.port, 'POST', '/_matrix/client/v3/createRoom', createRoomBody('y@elsewhere.example'), 'tok')).status, 200)
})
