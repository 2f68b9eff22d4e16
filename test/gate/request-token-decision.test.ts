import t from 'tap'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

const policy = {
  register: {
    policy: {
      allowed: false,
      threepid: {
        email: { domain: { whitelist: ['*example.org'], blacklist: ['evil.example.org'] } },
        msisdn: { pattern: { whitelist: ['44\\d+'] } }
      }
    }
  }
}

for (const prefix of ['r0', 'v3', 'unstable']) {
  for (const endpoint of ['register', 'account/3pid']) {
    t.test(`${prefix} ${endpoint}: a denied email never reaches the homeserver`, async (t) => {
      const hs = await startHomeserver(t)
      const rg = await startRegguard(t, hs.url, policy)
      const path = `/_matrix/client/${prefix}/${endpoint}/email/requestToken`
      const res = await request(rg.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_secret: 'abc', email: 'eve@Evil.Example.org', send_attempt: 1 })
      })
      t.equal(res.statusCode, 403)
      t.match(res.headers['content-type'], /^application\/json/)
      const body = await res.body.json() as { errcode: string, error: string }
      t.equal(body.errcode, 'M_THREEPID_DENIED')
      t.equal(body.error, endpoint === 'register'
        ? 'Your email domain is not authorized to register on this server'
        : 'Your email domain is not authorized on this server')
      t.equal(hs.received.length, 0, 'homeserver saw nothing')
    })

    t.test(`${prefix} ${endpoint}: an allowed email arrives byte for byte`, async (t) => {
      const hs = await startHomeserver(t)
      hs.respond(() => ({ status: 200, headers: ['Content-Type', 'application/json', 'X-Custom', 'kept', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'], body: '{"sid":"S1"}' }))
      const rg = await startRegguard(t, hs.url, policy)
      const target = `/_matrix/client/${prefix}/${endpoint}/email/requestToken?x=1&access_token=zzz`
      // odd spacing and key order must survive: the body is not re-serialised
      const body = '{ "email" : "Alice@Sub.Example.org",  "client_secret":"abc", "send_attempt": 1 , "next_link":"https://x/é"}'
      const res = await rawPost(rg.port, target, body, { 'Content-Type': 'application/json', Authorization: 'Bearer tok', 'X-Client': 'one' })
      t.equal(res.status, 200)
      t.equal(res.body, '{"sid":"S1"}')
      t.equal(res.headers['x-custom'], 'kept')
      t.match(res.head, /Set-Cookie: a=1\r\nSet-Cookie: b=2/)
      t.equal(hs.received.length, 1)
      const got = hs.received[0]!
      t.equal(got.method, 'POST')
      t.equal(got.url, target)
      t.equal(got.body.toString(), body)
      t.equal(got.headers.host, 'matrix.example.org')
      t.equal(got.headers.authorization, 'Bearer tok')
      t.equal(got.headers['x-client'], 'one')
      t.equal(got.headers['content-length'], String(Buffer.byteLength(body)))
    })
  }
}

t.test('msisdn: allowed and denied by pattern on the E.164 form', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, policy)
  const send = (country: string, phone: string): Promise<{ status: number, body: string }> =>
    rawPost(rg.port, '/_matrix/client/v3/register/msisdn/requestToken', JSON.stringify({ client_secret: 's', country, phone_number: phone, send_attempt: 1 }))
  const denied = await send('US', '(202) 555-0123')
  t.equal(denied.status, 403)
  t.equal(JSON.parse(denied.body).error, 'Phone numbers are not authorized to register on this server')
  t.equal(hs.received.length, 0)
  const allowed = await send('GB', '07700 900123')
  t.equal(allowed.status, 200)
  t.equal(hs.received.length, 1)
})

t.test('the decision is logged once, address redacted, token absent', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, policy)
  await rawPost(rg.port, '/_matrix/client/v3/register/email/requestToken?access_token=secret123', JSON.stringify({ client_secret: 'abc', email: 'alice@evil.example.org', send_attempt: 1 }), { Authorization: 'Bearer secret456' })
  const lines = rg.logs.filter((l) => l.msg === 'policy decision')
  t.equal(lines.length, 1)
  const line = lines[0]!
  t.match(line, { endpoint: 'register', medium: 'email', decision: 'deny', rule: 'blacklist', client_ip: '127.0.0.1' })
  t.match(line.address, /^[0-9a-f]{12}@evil\.example\.org$/)
  const all = JSON.stringify(rg.logs)
  t.notMatch(all, /alice/)
  t.notMatch(all, /secret123|secret456/)
})
