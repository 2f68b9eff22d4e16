import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/load.js'

// ma1sd skipped unknown keys, so a typo silently disabled a policy. regguard stops instead.

const cases: Array<[unknown, string]> = [
  [{ foo: 1 }, 'foo'],
  [{ server: { prot: 8090 } }, 'server.prot'],
  [{ register: { policy: { alowed: true } } }, 'register.policy.alowed'],
  [{ register: { policy: { threepid: { email: { domain: { blacklists: ['x.example'] } } } } } }, 'register.policy.threepid.email.domain.blacklists'],
  [{ register: { threepid: { email: { domains: { blacklist: ['x.example'] } } } } }, 'register.threepid.email.domains'],
  // ma1sd's doc only documents email domains; msisdn has no domain list
  [{ register: { policy: { threepid: { msisdn: { domain: { blacklist: ['x.example'] } } } } } }, 'register.policy.threepid.msisdn.domain']
]

for (const [object, key] of cases) {
  t.test(`unknown key ${key}`, async (t) => {
    const err = t.throws(() => loadConfig({ object, env: {} })) as ConfigError
    t.type(err, ConfigError)
    t.match(err.message, key)
    t.ok(err.key?.startsWith(key), `err.key ${String(err.key)} names ${key}`)
  })
}
