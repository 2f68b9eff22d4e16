import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/load.js'

// A bad value stops start-up with a message naming the key.

const cases: Array<[string, unknown, string | RegExp]> = [
  ['port 70000', { server: { port: 70000 } }, 'server.port'],
  ['admin port -1', { admin: { port: -1 } }, 'admin.port'],
  ['homeserver.url with a path', { homeserver: { url: 'http://127.0.0.1:8008/_matrix' } }, 'homeserver.url'],
  ['homeserver.url with a query', { homeserver: { url: 'http://127.0.0.1:8008?x=1' } }, 'homeserver.url'],
  ['homeserver.url not http', { homeserver: { url: 'ftp://127.0.0.1' } }, 'homeserver.url'],
  ['homeserver.url not a URL', { homeserver: { url: 'localhost:8008' } }, 'homeserver.url'],
  ['bad regex in an email pattern list', { register: { policy: { threepid: { email: { pattern: { blacklist: ['.*@ok\\.example', '(unclosed'] } } } } } }, 'register.policy.threepid.email.pattern.blacklist[1]'],
  ['bad regex in an msisdn pattern list', { register: { policy: { threepid: { msisdn: { pattern: { whitelist: ['[0-9'] } } } } } }, 'register.policy.threepid.msisdn.pattern.whitelist[0]'],
  ['a list of numbers', { register: { policy: { threepid: { email: { domain: { blacklist: [1, 2] } } } } } }, 'register.policy.threepid.email.domain.blacklist'],
  ['log level', { log: { level: 'loud' } }, 'log.level'],
  ['timeout not a natural number', { homeserver: { timeout_ms: -5 } }, 'homeserver.timeout_ms'],
  ['doc-layout boolean not a boolean', { register: { allowed: 'sometimes' } }, 'register.allowed']
]

for (const [name, object, key] of cases) {
  t.test(name, async (t) => {
    const err = t.throws(() => loadConfig({ object, env: {} })) as ConfigError
    t.type(err, ConfigError)
    t.match(err.message, key)
    t.equal(err.key, key)
  })
}

t.test('regression: "allowed: no" or "0" silently meant true (convict\'s Boolean)', async (t) => {
  // YAML 1.2 reads `no` as a string; convict turned every string but "false" into true, which
  // opened registration to everyone. ma1sd's YAML 1.1 words now mean what they meant there
  // (issue 23); any other string is refused
  for (const [v, meant] of [['no', false], ['off', false], ['No', false], ['OFF', false], ['False', false], ['yes', true], ['On', true]] as const) {
    t.equal(loadConfig({ object: { register: { policy: { allowed: v } } }, env: {} }).policy.allowed, meant, v)
    t.equal(loadConfig({ env: { REGGUARD_REGISTER_POLICY_INVITE: v } }).policy.invite, meant, `env ${v}`)
  }
  for (const v of ['0', '1', 'y', 'n', 'nope', 'disabled']) {
    const err = t.throws(() => loadConfig({ object: { register: { policy: { allowed: v } } }, env: {} }), v) as ConfigError
    t.equal(err.key, 'register.policy.allowed', v)
    const fromEnv = t.throws(() => loadConfig({ env: { REGGUARD_REGISTER_POLICY_INVITE: v } }), `env ${v}`) as ConfigError
    t.equal(fromEnv.key, 'register.policy.invite', `env ${v}`)
  }
  t.equal(loadConfig({ env: { REGGUARD_LOG_FULL_ADDRESSES: 'true' } }).settings.log.full_addresses, true)
  t.equal(loadConfig({ env: { REGGUARD_REGISTER_POLICY_INVITE: 'false' } }).policy.invite, false)
})

t.test('the file is not valid YAML', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'server:\n  port: [\n', 'dup.yaml': 'server:\n  port: 1\n  port: 2\n', 'list.yaml': '- a\n- b\n' })
  t.throws(() => loadConfig({ file: `${dir}/bad.yaml`, env: {} }), { message: /bad\.yaml is not valid YAML or JSON/ })
  t.throws(() => loadConfig({ file: `${dir}/dup.yaml`, env: {} }), { message: /dup\.yaml is not valid YAML or JSON/ }, 'duplicate keys: which one wins is not guessed')
  t.throws(() => loadConfig({ file: `${dir}/list.yaml`, env: {} }), { message: /must hold a mapping/ })
  t.throws(() => loadConfig({ file: `${dir}/absent.yaml`, env: {} }), { message: /cannot read config file .*absent\.yaml: ENOENT/ })
})
