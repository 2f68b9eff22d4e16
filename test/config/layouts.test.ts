import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/load.js'
import { decide } from '../../src/policy/policy.js'

// ma1sd's code reads register.policy.*, its doc writes register.allowed / register.invite /
// register.threepid.*: both are accepted, and one setting given both ways must agree.

const load = (object: unknown, env: NodeJS.ProcessEnv = {}) => loadConfig({ object, env })

t.test('code layout: register.policy.*', async (t) => {
  const cfg = load({ register: { policy: { allowed: true, invite: false, threepid: { email: { domain: { blacklist: ['evil.example'] }, pattern: { whitelist: ['.*@good\\.example'] } }, msisdn: { pattern: { blacklist: ['44\\d+'] } } } } } })
  t.equal(cfg.policy.allowed, true)
  t.equal(cfg.policy.invite, false)
  t.equal(decide(cfg.policy, 'email', 'a@evil.example').rule, 'blacklist')
  t.equal(decide(cfg.policy, 'email', 'a@good.example').rule, 'whitelist')
  t.equal(decide(cfg.policy, 'msisdn', '447700900123').rule, 'blacklist')
})

t.test('doc layout: register.allowed, register.invite, register.threepid.*', async (t) => {
  const cfg = load({ register: { allowed: true, invite: false, threepid: { email: { domain: { blacklist: ['evil.example'] }, pattern: { whitelist: ['.*@good\\.example'] } }, msisdn: { pattern: { blacklist: ['44\\d+'] } } } } })
  t.equal(cfg.policy.allowed, true)
  t.equal(cfg.policy.invite, false)
  t.equal(cfg.settings.register.policy.allowed, true, 'settings hold the merged value under register.policy')
  t.equal(decide(cfg.policy, 'email', 'a@evil.example').rule, 'blacklist')
  t.equal(decide(cfg.policy, 'email', 'a@good.example').rule, 'whitelist')
  t.equal(decide(cfg.policy, 'msisdn', '447700900123').rule, 'blacklist')
})

t.test('mixed: some settings each way', async (t) => {
  const cfg = load({ register: { allowed: true, policy: { threepid: { email: { domain: { blacklist: ['evil.example'] } } } } } })
  t.equal(decide(cfg.policy, 'email', 'a@evil.example').allowed, false)
  t.equal(decide(cfg.policy, 'email', 'a@other.example').allowed, true)
})

t.test('the same setting both ways with different values stops start-up, naming both keys', async (t) => {
  const cases: Array<[unknown, string, string]> = [
    [{ register: { allowed: true, policy: { allowed: false } } }, 'register.allowed', 'register.policy.allowed'],
    [{ register: { invite: false, policy: { invite: true } } }, 'register.invite', 'register.policy.invite'],
    [{ register: { threepid: { email: { domain: { whitelist: ['a.example'] } } }, policy: { threepid: { email: { domain: { whitelist: ['b.example'] } } } } } },
      'register.threepid.email.domain.whitelist', 'register.policy.threepid.email.domain.whitelist'],
    [{ register: { threepid: { msisdn: { pattern: { blacklist: ['1'] } } }, policy: { threepid: { msisdn: { pattern: { blacklist: [] } } } } } },
      'register.threepid.msisdn.pattern.blacklist', 'register.policy.threepid.msisdn.pattern.blacklist']
  ]
  for (const [object, doc, code] of cases) {
    const err = t.throws(() => load(object), doc) as ConfigError
    t.type(err, ConfigError)
    t.match(err.message, doc, `message names ${doc}`)
    t.match(err.message, code, `message names ${code}`)
  }
})

t.test('a policy setting explicitly equal to its default still conflicts with another doc value', async (t) => {
  // register.policy.invite: true is the default; writing it down is still a statement
  const err = t.throws(() => load({ register: { invite: false, policy: { invite: true } } })) as ConfigError
  t.match(err.message, /register\.invite.*register\.policy\.invite/)
})

t.test('an environment variable on the code key conflicts with a different doc value in the file', async (t) => {
  const err = t.throws(() => load({ register: { allowed: true } }, { REGGUARD_REGISTER_POLICY_ALLOWED: 'false' })) as ConfigError
  t.match(err.message, /register\.allowed.*register\.policy\.allowed/)
})

t.test('the same value both ways is fine', async (t) => {
  const cfg = load({ register: { allowed: true, policy: { allowed: true }, threepid: { email: { domain: { whitelist: ['a.example'] } } } } })
  t.equal(cfg.policy.allowed, true)
  const lists = load({ register: { threepid: { email: { domain: { whitelist: ['a.example'] } } }, policy: { threepid: { email: { domain: { whitelist: ['a.example'] } } } } } })
  t.equal(decide(lists.policy, 'email', 'u@a.example').rule, 'whitelist')
})
