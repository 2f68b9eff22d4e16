import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { decideAddress, decideAtOnce } from '../../src/decide.js'
import type { MxFacts } from '../../src/policy/policy.js'

// The decision with its I/O in the order of issue 22: a blacklist kind (lists, patterns, the
// mail-server rules) decides before the invite is even asked for; the invite beats the default
// (and is asked before the DNS lookup a later whitelist rule would need).

const policy = (extra: Record<string, unknown> = {}, email: Record<string, unknown> = {}) => loadConfig({
  object: { register: { policy: { allowed: false, ...extra, threepid: { email: { domain: { blacklist: ['*evil.example'] }, ...email }, msisdn: { pattern: { blacklist: ['44\\d+'] } } } } } },
  env: {}
}).policy

function deps (invited: boolean, facts?: MxFacts) {
  const asked = { invite: 0, mx: 0 }
  return {
    asked,
    deps: {
      findInvite: async () => { asked.invite++; return invited ? { id: 'inv-9' } : null },
      lookupMx: async () => { asked.mx++; return facts ?? { kind: 'hosts' as const, hosts: ['mx.example'], implicit: false } }
    }
  }
}

t.test('a blacklisted address: denied without asking for an invite', async (t) => {
  for (const [medium, address] of [['email', 'x@mailinator.evil.example'], ['msisdn', '447700900123']] as const) {
    const d = deps(true)
    const { decision } = await decideAddress(policy(), medium, address, d.deps)
    t.match(decision, { allowed: false, rule: 'blacklist' }, `${medium}: the blacklist decides`)
    t.equal(d.asked.invite, 0, `${medium}: the store was not asked`)
    t.same(decideAtOnce(policy(), medium, address, true)?.decision.rule, 'blacklist', `${medium}: decided at once, no invite can change it`)
  }
})

t.test('a default-denied address: the invite allows', async (t) => {
  const d = deps(true)
  t.same((await decideAddress(policy(), 'email', 'x@elsewhere.example', d.deps)).decision, { allowed: true, rule: 'invite', detail: 'inv-9' })
  t.equal(decideAtOnce(policy(), 'email', 'x@elsewhere.example', true), null, 'not at once: the invite must be asked for')
})

t.test('the mail-server blacklist kinds come before the invite', async (t) => {
  const p = policy({}, { mx: { require: true, blacklist: ['*.bad-mx.example'] } })
  const bad = deps(true, { kind: 'hosts', hosts: ['in.bad-mx.example'], implicit: false })
  t.match((await decideAddress(p, 'email', 'x@elsewhere.example', bad.deps)).decision, { allowed: false, rule: 'blacklist' }, 'an mx blacklist match denies the invited address')
  t.same(bad.asked, { invite: 0, mx: 1 })
  const none = deps(true, { kind: 'no-mail', why: 'NXDOMAIN' })
  t.match((await decideAddress(p, 'email', 'x@elsewhere.example', none.deps)).decision, { allowed: false, rule: 'mx_require' })
  const fine = deps(true)
  t.same((await decideAddress(p, 'email', 'x@elsewhere.example', fine.deps)).decision, { allowed: true, rule: 'invite', detail: 'inv-9' }, 'mail servers fine: the invite allows')
  t.same(fine.asked, { invite: 1, mx: 1 }, 'looked up first, then asked')
})

t.test('an mx whitelist comes after the invite: no lookup for an invited address', async (t) => {
  const p = policy({}, { mx: { whitelist: ['*.corp.example'] } })
  const d = deps(true)
  t.equal((await decideAddress(p, 'email', 'x@elsewhere.example', d.deps)).decision.rule, 'invite')
  t.same(d.asked, { invite: 1, mx: 0 })
})

t.test('invite_overrides_blacklist: ma1sd\'s order, the invite first', async (t) => {
  const p = policy({ invite_overrides_blacklist: true }, { mx: { require: true } })
  const d = deps(true)
  t.same((await decideAddress(p, 'email', 'x@mailinator.evil.example', d.deps)).decision, { allowed: true, rule: 'invite', detail: 'inv-9' })
  t.same(d.asked, { invite: 1, mx: 0 })
  const first = deps(true)
  t.equal((await decideAddress(p, 'email', 'x@mailinator.evil.example', { ...first.deps, inviteFirst: true })).decision.rule, 'invite')
  t.equal(first.asked.invite, 1, 'asked once')
})

t.test('inviteFirst names the invite whenever the order lets it decide', async (t) => {
  const p = policy({}, { domain: { whitelist: ['example.org'], blacklist: ['*evil.example'] } })
  const d = deps(true)
  t.equal((await decideAddress(p, 'email', 'a@example.org', { ...d.deps, inviteFirst: true })).decision.rule, 'invite', 'before the whitelist')
  const b = deps(true)
  t.equal((await decideAddress(p, 'email', 'a@mailinator.evil.example', { ...b.deps, inviteFirst: true })).decision.rule, 'blacklist', 'never before a blacklist')
})
