import t from 'tap'
import { decide, decideWithoutInvite, emptySide, compilePattern, type Policy } from '../../src/policy/policy.js'

// The order (issue 22): blacklist -> pending invite (when register.invite) -> whitelist ->
// allowed; with invite_overrides_blacklist, ma1sd's: pending invite -> blacklist -> whitelist -> allowed.

function policy (opts: { allowed: boolean, invite: boolean, overrides?: boolean }): Policy {
  const p: Policy = {
    allowed: opts.allowed,
    invite: opts.invite,
    inviteOverridesBlacklist: opts.overrides ?? false,
    email: { whitelist: emptySide(), blacklist: emptySide() },
    msisdn: { whitelist: emptySide(), blacklist: emptySide() }
  }
  // both lists match listed.example: the blacklist must win
  p.email.blacklist.domains.add('listed.example')
  p.email.whitelist.domains.add('*listed.example')
  p.email.whitelist.domains.add('good.example')
  p.email.blacklist.patterns.push(compilePattern('.*@bad-pattern\\.example', 'k'))
  p.email.whitelist.patterns.push(compilePattern('.*@bad-pattern\\.example', 'k2'))
  return p
}

t.test('a blacklist denies before any invite', async (t) => {
  const p = policy({ allowed: false, invite: true })
  t.same(decide(p, 'email', 'u@listed.example', { id: 'inv-1' }), { allowed: false, rule: 'blacklist', detail: 'domain listed.example' })
  t.same(decide(p, 'email', 'u@bad-pattern.example', { id: 'inv-1' }), { allowed: false, rule: 'blacklist', detail: 'pattern .*@bad-pattern\\.example' })
  t.same(decide(p, 'email', 'u@nowhere.example', { id: 'inv-1' }), { allowed: true, rule: 'invite', detail: 'inv-1' }, 'an invite still beats the default')
  t.same(decide(p, 'email', 'u@good.example', { id: 'inv-1' }), { allowed: true, rule: 'invite', detail: 'inv-1' }, 'and comes before the whitelist')
})

t.test('with invite_overrides_blacklist an invite allows before any blacklist (ma1sd)', async (t) => {
  const d = decide(policy({ allowed: false, invite: true, overrides: true }), 'email', 'u@listed.example', { id: 'inv-1' })
  t.same(d, { allowed: true, rule: 'invite', detail: 'inv-1' })
})

t.test('an invite is ignored when register.invite is false', async (t) => {
  const p = policy({ allowed: false, invite: false })
  t.same(decide(p, 'email', 'u@listed.example', { id: 'inv-1' }), { allowed: false, rule: 'blacklist', detail: 'domain listed.example' })
  t.same(decide(p, 'email', 'u@nowhere.example', { id: 'inv-1' }), { allowed: false, rule: 'default', detail: 'allowed: false' })
  t.same(decide(p, 'email', 'u@good.example', { id: 'inv-1' }), { allowed: true, rule: 'whitelist', detail: 'domain good.example' })
})

t.test('no invite (null or absent) falls through to the lists', async (t) => {
  const p = policy({ allowed: true, invite: true })
  t.equal(decide(p, 'email', 'u@listed.example', null).rule, 'blacklist')
  t.equal(decide(p, 'email', 'u@listed.example').rule, 'blacklist')
  t.equal(decideWithoutInvite(p, 'email', 'u@listed.example').rule, 'blacklist')
})

t.test('the blacklist wins over a whitelist that also matches', async (t) => {
  const p = policy({ allowed: true, invite: true })
  t.same(decide(p, 'email', 'u@listed.example'), { allowed: false, rule: 'blacklist', detail: 'domain listed.example' })
  t.same(decide(p, 'email', 'u@bad-pattern.example'), { allowed: false, rule: 'blacklist', detail: 'pattern .*@bad-pattern\\.example' })
})

t.test('the whitelist allows before the default', async (t) => {
  const p = policy({ allowed: false, invite: true })
  t.same(decide(p, 'email', 'u@sub.listed.example'), { allowed: true, rule: 'whitelist', detail: 'domain *listed.example' })
  t.same(decide(p, 'email', 'u@good.example'), { allowed: true, rule: 'whitelist', detail: 'domain good.example' })
})

t.test('the default is register.allowed, both ways', async (t) => {
  t.same(decide(policy({ allowed: false, invite: true }), 'email', 'u@other.example'), { allowed: false, rule: 'default', detail: 'allowed: false' })
  t.same(decide(policy({ allowed: true, invite: true }), 'email', 'u@other.example'), { allowed: true, rule: 'default', detail: 'allowed: true' })
})

t.test('a blacklist match denies even when the default is allow', async (t) => {
  t.equal(decide(policy({ allowed: true, invite: true }), 'email', 'u@listed.example').allowed, false)
})
