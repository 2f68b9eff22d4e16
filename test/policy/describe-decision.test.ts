import t from 'tap'
import { describeDecision } from '../../src/policy/policy.js'

// The wording the CLI prints and the logs carry: the rule and what made it.

t.test('invite', async (t) => {
  t.equal(describeDecision({ allowed: true, rule: 'invite', detail: 'inv-42' }), 'allowed by invite inv-42')
})

t.test('blacklist and whitelist name the entry', async (t) => {
  t.equal(describeDecision({ allowed: false, rule: 'blacklist', detail: 'domain evil.org' }), 'denied by blacklist domain evil.org')
  t.equal(describeDecision({ allowed: true, rule: 'whitelist', detail: 'domain .example.org' }), 'allowed by whitelist domain .example.org')
  t.equal(describeDecision({ allowed: false, rule: 'blacklist', detail: 'pattern 44\\d+' }), 'denied by blacklist pattern 44\\d+')
})

t.test('default names the setting', async (t) => {
  t.equal(describeDecision({ allowed: false, rule: 'default', detail: 'allowed: false' }), 'denied by default (allowed: false)')
  t.equal(describeDecision({ allowed: true, rule: 'default', detail: 'allowed: true' }), 'allowed by default (allowed: true)')
})
