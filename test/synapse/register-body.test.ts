import t from 'tap'
import { parseRegisterRequest } from '../../src/synapse/register-body.js'

const parse = (v: unknown): ReturnType<typeof parseRegisterRequest> => parseRegisterRequest(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)))

t.test('a request without auth asks for the flows', async (t) => {
  t.same(parse({ username: 'a' }), { ok: true, auth: { type: null, session: null, creds: [], malformedCreds: false } })
})

t.test('email stage with threepid_creds', async (t) => {
  const r = parse({ auth: { type: 'm.login.email.identity', session: 'S', threepid_creds: { sid: 'x', client_secret: 'y' } } })
  t.same(r, { ok: true, auth: { type: 'm.login.email.identity', session: 'S', creds: [{ sid: 'x', clientSecret: 'y' }], malformedCreds: false } })
})

t.test('every spelling is collected, so none goes unchecked', async (t) => {
  const r = parse({ auth: { type: 'm.login.email.identity', threepid_creds: { sid: 'a', client_secret: 'b' }, threePidCreds: { sid: 'c', client_secret: 'd' } } })
  t.ok(r.ok)
  if (r.ok) t.same(r.auth.creds.map((c) => c.sid), ['a', 'c'])
})

t.test('malformed creds are flagged', async (t) => {
  const r = parse({ auth: { type: 'm.login.msisdn', threepid_creds: { sid: 1 } } })
  t.ok(r.ok && r.auth.malformedCreds)
})

t.test('duplicate keys: the last wins, as in Python', async (t) => {
  const r = parse('{"auth":{"type":"m.login.dummy","type":"m.login.email.identity"}}')
  t.ok(r.ok && r.auth.type === 'm.login.email.identity')
})

t.test('not a JSON object', async (t) => {
  t.same(parse('nope'), { ok: false })
  t.same(parse('[1]'), { ok: false })
})
