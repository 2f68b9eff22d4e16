import { randomBytes } from 'node:crypto'
import t from 'tap'
import { rawPost } from '../helpers/raw-http.js'
import { emailBody, errcode, policedArrivals, POLICY, safeWindow, setup, tokenPath } from './helpers.js'

// Issue 8, section 7: the per-IP limit counts a client, not a spelling of its address. An
// IPv4-mapped IPv6 address is its IPv4 address; IPv6 clients are counted by network
// (register.rate_limit.ipv6_prefix, default 64). Addresses come through X-Forwarded-For from
// loopback, which is trusted by default, as from nginx.

const TOKEN = tokenPath('v3', 'register', 'email')

function limited (perIp: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...POLICY, register: { ...POLICY.register, rate_limit: { enabled: true, per_ip: { max: perIp, window: safeWindow() }, per_address: { max: 0, window: 60_000 }, ...extra } } }
}

let n = 0
function send (port: number, ip: string): ReturnType<typeof rawPost> {
  return rawPost(port, TOKEN, emailBody(`user${n++}@example.org`, 'cs' + randomBytes(4).toString('hex')), { 'Content-Type': 'application/json', 'X-Forwarded-For': ip })
}

t.test('an IPv4 client is one client in both spellings', async (t) => {
  const { hs, rg } = await setup(t, limited(2))
  t.equal((await send(rg.port, '203.0.113.9')).status, 200)
  t.equal((await send(rg.port, '::ffff:203.0.113.9')).status, 200)
  const third = await send(rg.port, '::FFFF:cb00:7109')
  t.equal(third.status, 429, 'the third, in yet another spelling, is limited')
  t.equal(errcode(third), 'M_LIMIT_EXCEEDED')
  t.equal((await send(rg.port, '203.0.113.9')).status, 429)
  t.equal(policedArrivals(hs).length, 2, 'the homeserver was asked twice')
  t.equal((await send(rg.port, '203.0.113.10')).status, 200, 'the next address is another client')
})

t.test('IPv6 clients are counted by their /64', async (t) => {
  const { hs, rg } = await setup(t, limited(2))
  t.equal((await send(rg.port, '2001:db8:aa:1::1')).status, 200)
  t.equal((await send(rg.port, '2001:db8:aa:1:dead:beef:0:2')).status, 200)
  t.equal((await send(rg.port, '2001:DB8:AA:1:ffff:ffff:ffff:ffff')).status, 429, 'a third address of the same /64 is limited')
  t.equal(policedArrivals(hs).length, 2)
  t.equal((await send(rg.port, '2001:db8:aa:2::1')).status, 200, 'the next /64 is another client')
})

t.test('register.rate_limit.ipv6_prefix sets the grouping', async (t) => {
  const { hs, rg } = await setup(t, limited(1, { ipv6_prefix: 48 }))
  t.equal((await send(rg.port, '2001:db8:bb:1::1')).status, 200)
  t.equal((await send(rg.port, '2001:db8:bb:ffff::1')).status, 429, '/48: another /64 of the same /48 is the same client')
  t.equal((await send(rg.port, '2001:db8:bc::1')).status, 200)
  t.equal(policedArrivals(hs).length, 2)

  const single = await setup(t, limited(1, { ipv6_prefix: 128 }))
  t.equal((await send(single.rg.port, '2001:db8:cc::1')).status, 200)
  t.equal((await send(single.rg.port, '2001:db8:cc::2')).status, 200, '/128: every address is its own client')
  t.equal((await send(single.rg.port, '2001:db8:cc:0::1')).status, 429, 'but spellings of one address are one')
})

t.test('ipv6_prefix must be 0 to 128', async (t) => {
  for (const bad of [129, -1, 6.5, 'x']) {
    await t.rejects(setup(t, limited(1, { ipv6_prefix: bad })), /ipv6_prefix/, `${String(bad)} refused`)
  }
})
