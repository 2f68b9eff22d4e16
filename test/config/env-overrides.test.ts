import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/load.js'
import { convictSchema, envName, leaves } from '../../src/config/schema.js'

// Every scalar key has an environment variable REGGUARD_<PATH>, and it wins over the file.

function get (obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], obj)
}

/** A value different from the default, as the environment spells it, and as it should load. */
function sample (path: string, format: string, def: unknown): [string, unknown] {
  switch (format) {
    case 'port': return ['12345', 12345]
    case 'nat': return ['4321', 4321]
    case 'http-url': return ['http://127.0.0.2:9000', 'http://127.0.0.2:9000']
    case 'log-level': return ['debug', 'debug']
    case 'boolean':
    case 'optional-boolean': return def === true || path === 'register.invite' ? ['false', false] : ['true', true]
    case 'storage-url': return ['sqlite://./elsewhere.sqlite', 'sqlite://./elsewhere.sqlite']
    case 'positive-duration': return ['1234', 1234]
    case 'positive-int': return ['7', 7]
    case 'ipv6-prefix': return ['48', 48]
    default: return [`env-${path}`, `env-${path}`]
  }
}

// formats whose values are free text; any other format needs a case in sample()
const TEXT_FORMATS = new Set(['string', 'optional-string'])
const KNOWN = new Set([...TEXT_FORMATS, 'port', 'nat', 'http-url', 'log-level', 'boolean', 'optional-boolean', 'storage-url', 'positive-duration', 'positive-int', 'ipv6-prefix'])

const scalars = leaves().filter(([, l]) => !String(l.format).includes('list'))

t.test('there are scalar keys to test', async (t) => {
  t.ok(scalars.length >= 20, `${scalars.length} scalar keys`)
  t.ok(scalars.some(([p]) => p === 'server.port'))
})

for (const [path, leaf] of scalars) {
  t.test(`${envName(path)} sets ${path}`, async (t) => {
    const format = typeof leaf.format === 'string' ? leaf.format : (leaf.format as { name: string }).name.toLowerCase()
    if (!KNOWN.has(format)) {
      // a format added after this test: at least the variable must exist and be read
      const schema = convictSchema() as Record<string, unknown>
      t.equal((get(schema, path) as { env?: string }).env, envName(path), `declared (add a sample for format ${format} here)`)
      return
    }
    const [text, value] = sample(path, format, leaf.default)
    t.not(value, leaf.default, 'the test value differs from the default')
    const cfg = loadConfig({ env: { [envName(path)]: text } })
    // aliases of the doc layout land on their register.policy.* twin
    const target = leaf.sampleCommented === true ? path.replace(/^register\./, 'register.policy.') : path
    t.same(get(cfg.settings, target), value)
  })
}

t.test('the environment wins over the file', async (t) => {
  const dir = t.testdir({ 'c.yaml': 'server:\n  port: 1111\nhomeserver:\n  server_name: file.example\n' })
  const cfg = loadConfig({ file: `${dir}/c.yaml`, env: { REGGUARD_SERVER_PORT: '2222' } })
  t.equal(cfg.settings.server.port, 2222)
  t.equal(cfg.settings.homeserver.server_name, 'file.example', 'keys without a variable keep the file value')
})

t.test('list keys take comma-separated values', async (t) => {
  const dir = t.testdir({ 'a.txt': 'from-file.example\n' })
  const cfg = loadConfig({
    baseDir: dir,
    env: {
      REGGUARD_SERVER_TRUSTED_PROXIES: 'loopback, 10.0.0.0/8',
      REGGUARD_REGISTER_POLICY_THREEPID_EMAIL_DOMAIN_BLACKLIST: 'a.example, *b.example',
      REGGUARD_REGISTER_POLICY_THREEPID_EMAIL_DOMAIN_BLACKLIST_FILES: 'a.txt',
      REGGUARD_REGISTER_POLICY_THREEPID_MSISDN_PATTERN_WHITELIST: '44\\d+'
    }
  })
  t.same(cfg.settings.server.trusted_proxies, ['loopback', '10.0.0.0/8'])
  t.same(cfg.settings.register.policy.threepid.email.domain.blacklist, ['a.example', '*b.example'])
  t.ok(cfg.policy.email.blacklist.domains.match('from-file.example'))
  t.ok(cfg.policy.email.blacklist.domains.match('x.b.example'))
  t.same(cfg.policy.msisdn.whitelist.patterns.map((p) => p.source), ['44\\d+'])
})

t.test('a bad value from the environment names the key', async (t) => {
  const port = t.throws(() => loadConfig({ env: { REGGUARD_SERVER_PORT: '70000' } })) as ConfigError
  t.equal(port.key, 'server.port')
  const url = t.throws(() => loadConfig({ env: { REGGUARD_HOMESERVER_URL: 'http://h/path' } })) as ConfigError
  t.equal(url.key, 'homeserver.url')
})

t.test('loadConfig does not read process.env when env is given', async (t) => {
  const before = process.env.REGGUARD_SERVER_PORT
  process.env.REGGUARD_SERVER_PORT = '3333'
  t.teardown(() => { if (before === undefined) delete process.env.REGGUARD_SERVER_PORT; else process.env.REGGUARD_SERVER_PORT = before })
  t.equal(loadConfig({ env: {} }).settings.server.port, 8090)
  t.equal(loadConfig({}).settings.server.port, 3333, 'and does by default')
})
