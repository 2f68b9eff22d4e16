import t from 'tap'
import { compilePattern, decide, emptySide, PolicyConfigError, type Policy } from '../../src/policy/policy.js'

// A pattern is a regular expression over the whole canonical address, as ma1sd meant it:
// "example\.org" names no address, it does not match every address ending in example.org.

function withPatterns (color: 'whitelist' | 'blacklist', sources: string[]): Policy {
  const p: Policy = {
    allowed: color === 'blacklist',
    invite: true,
    email: { whitelist: emptySide(), blacklist: emptySide() },
    msisdn: { whitelist: emptySide(), blacklist: emptySide() }
  }
  p.email[color].patterns = sources.map((s, i) => compilePattern(s, `register.policy.threepid.email.pattern.${color}[${i}]`))
  return p
}

t.test('a pattern matching only part of the address does not match', async (t) => {
  const p = withPatterns('blacklist', ['example\\.org'])
  t.equal(decide(p, 'email', 'a@example.org').allowed, true, 'example\\.org does not match a@example.org')
  t.equal(decide(p, 'email', 'a@example.org').rule, 'default')
})

t.test('no implicit anchoring loophole at either end', async (t) => {
  const p = withPatterns('blacklist', ['a@evil\\.org'])
  t.equal(decide(p, 'email', 'a@evil.org').allowed, false, 'the whole address matches')
  t.equal(decide(p, 'email', 'xa@evil.org').allowed, true, 'prefix')
  t.equal(decide(p, 'email', 'a@evil.org.uk').allowed, true, 'suffix')
})

t.test('alternation is grouped, so each branch must match the whole address', async (t) => {
  // without the (?: ) group "^a@x\.org|b@y\.org$" would match "a@x.org.attacker" and "zb@y.org"
  const p = withPatterns('whitelist', ['a@x\\.org|b@y\\.org'])
  t.equal(decide(p, 'email', 'a@x.org').allowed, true)
  t.equal(decide(p, 'email', 'b@y.org').allowed, true)
  t.equal(decide(p, 'email', 'a@x.org.attacker').allowed, false)
  t.equal(decide(p, 'email', 'zb@y.org').allowed, false)
})

t.test('a whole-address pattern matches and is reported', async (t) => {
  const p = withPatterns('whitelist', ['[^@]+@(.+\\.)?example\\.org'])
  t.same(decide(p, 'email', 'a@sub.example.org'), { allowed: true, rule: 'whitelist', detail: 'pattern [^@]+@(.+\\.)?example\\.org' })
  t.same(decide(p, 'email', 'a@badexample.org'), { allowed: false, rule: 'default', detail: 'allowed: false' })
})

t.test('an invalid pattern is a PolicyConfigError naming its key', async (t) => {
  const err = t.throws(() => compilePattern('(unclosed', 'register.policy.threepid.email.pattern.blacklist[3]')) as PolicyConfigError
  t.type(err, PolicyConfigError)
  t.equal(err.key, 'register.policy.threepid.email.pattern.blacklist[3]')
  t.match(err.message, /^register\.policy\.threepid\.email\.pattern\.blacklist\[3\]: invalid regular expression "\(unclosed"/)
})
