import t from 'tap'
import { rawPost } from '../helpers/raw-http.js'
import { assertNoDeniedArrived, bodyFor, errcode, setup, TOKEN_PATHS } from './helpers.js'

// Every prefix Synapse serves (r0, v3, unstable) x both policed endpoints x both media: a denied
// address never reaches the homeserver, an allowed one reaches it byte for byte.

t.test('every prefix, endpoint and medium', async (t) => {
  const { hs, rg } = await setup(t)
  t.equal(TOKEN_PATHS.length, 12)
  for (const { path, medium } of TOKEN_PATHS) {
    hs.received.length = 0
    const denied = await rawPost(rg.port, path, bodyFor(medium, true), { 'Content-Type': 'application/json' })
    t.equal(denied.status, 403, `${path}: denied ${medium}`)
    t.equal(errcode(denied), 'M_THREEPID_DENIED', path)
    t.equal(hs.received.length, 0, `${path}: the homeserver saw nothing`)

    const body = bodyFor(medium, false)
    const target = `${path}?access_token=x&y=%2F`
    const allowed = await rawPost(rg.port, target, body, { 'Content-Type': 'application/json' })
    t.equal(allowed.status, 200, `${path}: allowed ${medium}`)
    t.equal(hs.received.length, 1, path)
    t.equal(hs.received[0]?.url, target, `${path}: target as sent`)
    t.equal(hs.received[0]?.body.toString(), body, `${path}: body byte for byte`)
    assertNoDeniedArrived(t, hs, path)
  }
})
