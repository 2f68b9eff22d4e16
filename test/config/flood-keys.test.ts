import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/load.js'

// The keys of issue 8, section 5: defaults, and values refused at start-up with the key named.

t.test('defaults', async (t) => {
  const s = loadConfig({ env: {} }).settings
  t.equal(s.server.headers_timeout_ms, 30000)
  t.equal(s.server.body_timeout_ms, 60000)
  t.equal(s.server.per_client_concurrency, 32)
  t.equal(s.homeserver.registration_connections, 16)
  t.equal(s.register.rate_limit.ipv6_prefix, 64)
})

t.test('0 switches the timeouts and the cap off', async (t) => {
  const s = loadConfig({ object: { server: { headers_timeout_ms: 0, body_timeout_ms: 0, per_client_concurrency: 0 } }, env: {} }).settings
  t.same([s.server.headers_timeout_ms, s.server.body_timeout_ms, s.server.per_client_concurrency], [0, 0, 0])
})

const BAD: Array<[string, Record<string, unknown>]> = [
  ['homeserver.registration_connections', { homeserver: { registration_connections: 0 } }],
  ['homeserver.registration_connections', { homeserver: { registration_connections: 2.5 } }],
  ['register.rate_limit.ipv6_prefix', { register: { rate_limit: { ipv6_prefix: 129 } } }],
  ['register.rate_limit.ipv6_prefix', { register: { rate_limit: { ipv6_prefix: '/64' } } }],
  ['server.per_client_concurrency', { server: { per_client_concurrency: -1 } }],
  ['server.body_timeout_ms', { server: { body_timeout_ms: 'soon' } }],
  ['server.headers_timeout_ms', { server: { headers_timeout_ms: 1.5 } }]
]

for (const [key, object] of BAD) {
  t.test(`${key}: ${JSON.stringify(object)} is refused`, async (t) => {
    let err: unknown = null
    try { loadConfig({ object, env: {} }) } catch (e) { err = e }
    t.ok(err instanceof ConfigError, 'a configuration error')
    t.match((err as Error).message, key, 'naming the key')
  })
}
