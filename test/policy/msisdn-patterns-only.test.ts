import t from 'tap'
import { compilePattern, decide, emptySide, type Policy } from '../../src/policy/policy.js'

// msisdn has only pattern lists, over the E.164 digits without "+". Email domain lists never
// apply to it, even when the digits look like a domain entry.

function policy (): Policy {
  const p: Policy = {
    allowed: false,
    invite: true,
    email: { whitelist: emptySide(), blacklist: emptySide() },
    msisdn: { whitelist: emptySide(), blacklist: emptySide() }
  }
  p.email.whitelist.domains.add('*447700900123')
  p.email.whitelist.patterns.push(compilePattern('\\d+', 'email-pattern'))
  p.msisdn.whitelist.patterns.push(compilePattern('44\\d+', 'register.policy.threepid.msisdn.pattern.whitelist[0]'))
  p.msisdn.blacklist.patterns.push(compilePattern('447700900666', 'register.policy.threepid.msisdn.pattern.blacklist[0]'))
  return p
}

t.test('msisdn whitelist pattern allows', async (t) => {
  t.same(decide(policy(), 'msisdn', '447700900123'), { allowed: true, rule: 'whitelist', detail: 'pattern 44\\d+' })
})

t.test('msisdn blacklist pattern wins over its whitelist', async (t) => {
  t.same(decide(policy(), 'msisdn', '447700900666'), { allowed: false, rule: 'blacklist', detail: 'pattern 447700900666' })
})

t.test('email lists do not apply to msisdn', async (t) => {
  // "12025550123" matches the email pattern \d+ and not 44\d+
  t.same(decide(policy(), 'msisdn', '12025550123'), { allowed: false, rule: 'default', detail: 'allowed: false' })
})

t.test('msisdn patterns are whole-match too', async (t) => {
  t.equal(decide(policy(), 'msisdn', '4477009006661').rule, 'whitelist', 'not the blacklist: 447700900666 is only a prefix')
  t.equal(decide(policy(), 'msisdn', '1447700900123').rule, 'default', '44\\d+ does not match mid-number')
})

t.test('msisdn lists do not apply to email', async (t) => {
  const p = policy()
  p.email.whitelist = emptySide()
  t.equal(decide(p, 'email', '447700900666@x.org').rule, 'default')
})
