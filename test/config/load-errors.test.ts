import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/load.js'

// Configuration errors that say what to do: the line of a YAML mistake, the unquoted `*`,
// ma1sd's YAML 1.1 booleans, a string where a list belongs, a whole ma1sd.yaml pasted in.

function fileWith (t: Tap.Test, text: string): string {
  const file = join(t.testdir({}), 'regguard.yaml')
  writeFileSync(file, text)
  return file
}

t.test('an unquoted `- *example.org`: the line, the column and the hint to quote it', async (t) => {
  const file = fileWith(t, 'register:\n  policy:\n    threepid:\n      email:\n        domain:\n          whitelist:\n            - example.com\n            - *example.org\n')
  const err = t.throws(() => loadConfig({ file, env: {} })) as ConfigError
  t.equal(err.message, `config file ${file}, line 8, column 15: *example.org is read by YAML as an alias (a reference to an anchor &example.org), not as text: quote it, '*example.org'`)
  const flow = fileWith(t, 'register: { policy: { threepid: { email: { domain: { blacklist: [*evil.example] } } } } }\n')
  t.throws(() => loadConfig({ file: flow, env: {} }), { message: /line 1, column \d+: \*evil\.example is read by YAML as an alias.*quote it, '\*evil\.example'/ })
  // quoted, it is the entry ma1sd's doc means
  const quoted = fileWith(t, "register:\n  policy:\n    threepid:\n      email:\n        domain:\n          whitelist: ['*example.org']\n")
  t.ok(loadConfig({ file: quoted, env: {} }).policy.email.whitelist.domains.match('sub.example.org'))
})

t.test('an anchor and its alias are still YAML', async (t) => {
  const file = fileWith(t, 'register:\n  policy:\n    threepid:\n      email:\n        domain:\n          whitelist: &ours ["ours.example"]\n          whitelist_files: []\n      msisdn:\n        pattern:\n          whitelist: []\n    username:\n      banned:\n        literals: *ours\n')
  t.same(loadConfig({ file, env: {} }).settings.register.policy.username.banned.literals, ['ours.example'])
})

t.test('other YAML errors name the line and column', async (t) => {
  const file = fileWith(t, 'server:\n  port: 8090\n  host: [127.0.0.1\nadmin: {}\n')
  t.throws(() => loadConfig({ file, env: {} }), { message: /regguard\.yaml is not valid YAML or JSON: .* at line \d+, column \d+/ })
})

t.test('yes/no/on/off are booleans, as ma1sd\'s YAML 1.1 read them', async (t) => {
  const file = fileWith(t, 'register:\n  policy:\n    allowed: yes\n    invite: off\n  rate_limit:\n    shared: No\n')
  const cfg = loadConfig({ file, env: {} })
  t.equal(cfg.policy.allowed, true)
  t.equal(cfg.policy.invite, false)
  t.equal(cfg.settings.register.rate_limit.shared, false)
  // the doc layout too
  t.equal(loadConfig({ file: fileWith(t, 'register:\n  allowed: on\n'), env: {} }).policy.allowed, true)
  const maybe = t.throws(() => loadConfig({ file: fileWith(t, 'register:\n  policy:\n    allowed: maybe\n'), env: {} })) as ConfigError
  t.equal(maybe.key, 'register.policy.allowed')
  t.match(maybe.message, /must be true or false \(or yes\/no, on\/off\), got "maybe"/)
})

t.test('a string where a list is expected is refused, naming the key (not split on commas)', async (t) => {
  const file = fileWith(t, 'register:\n  policy:\n    threepid:\n      email:\n        domain:\n          whitelist: "example.org, example.net"\n')
  const err = t.throws(() => loadConfig({ file, env: {} })) as ConfigError
  t.equal(err.key, 'register.policy.threepid.email.domain.whitelist')
  t.match(err.message, /register\.policy\.threepid\.email\.domain\.whitelist: must be a list, got the string "example\.org, example\.net"/)
  const alias = t.throws(() => loadConfig({ object: { register: { threepid: { email: { pattern: { blacklist: '.*spam.*' } } } } }, env: {} })) as ConfigError
  t.equal(alias.key, 'register.threepid.email.pattern.blacklist', 'the doc layout too')
  const proxies = t.throws(() => loadConfig({ object: { server: { trusted_proxies: 'loopback' } }, env: {} })) as ConfigError
  t.equal(proxies.key, 'server.trusted_proxies')
  // the environment's way stays: a comma-separated value
  t.same(loadConfig({ env: { REGGUARD_REGISTER_POLICY_THREEPID_EMAIL_DOMAIN_WHITELIST: 'a.example, b.example' } }).settings.register.policy.threepid.email.domain.whitelist, ['a.example', 'b.example'])
})

t.test('a whole ma1sd.yaml: one message saying only `register` is read', async (t) => {
  const file = fileWith(t, [
    'matrix:', '  domain: example.org',
    'server:', '  name: matrix.example.org',
    'key:', '  path: /var/lib/ma1sd/keys',
    'storage:', '  provider:', '    sqlite:', '      database: /var/lib/ma1sd/store.db',
    'threepid:', '  medium:', '    email:', '      identity:', '        from: noreply@example.org',
    'register:', '  policy:', '    allowed: false', '    threepid:', '      email:', '        domain:', "          whitelist: ['*example.org']"
  ].join('\n') + '\n')
  const err = t.throws(() => loadConfig({ file, env: {} })) as ConfigError
  t.match(err.message, /this looks like a whole ma1sd\.yaml \(top-level matrix, key, threepid\): regguard reads only ma1sd's `register` block\. Keep `register:` and remove the rest\. server, storage are regguard keys too/)
  t.notMatch(err.message, /not declared in the schema/, 'not one schema error per key')
  // the register block alone is read
  const block = fileWith(t, "register:\n  policy:\n    allowed: false\n    threepid:\n      email:\n        domain:\n          whitelist: ['*example.org']\n")
  t.equal(loadConfig({ file: block, env: {} }).policy.allowed, false)
})
