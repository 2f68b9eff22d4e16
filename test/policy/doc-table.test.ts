import t, { type Test } from 'tap'
import { canonicalEmail } from '../../src/synapse/canonical.js'
import { DomainSet } from '../../src/policy/domain-set.js'
import { decide, emptySide, type Policy } from '../../src/policy/policy.js'

// ma1sd's documented table (not what its code does): *d = d and subdomains, .d = subdomains
// only, d = exactly d. badexample.org shares a suffix but is another domain.
const TABLE: Array<[string, Record<string, boolean>]> = [
  ['*example.org', { 'example.org': true, 'sub.example.org': true, 'a.sub.example.org': true, 'badexample.org': false }],
  ['.example.org', { 'example.org': false, 'sub.example.org': true, 'a.sub.example.org': true, 'badexample.org': false }],
  ['example.org', { 'example.org': true, 'sub.example.org': false, 'a.sub.example.org': false, 'badexample.org': false }]
]

function whitelistPolicy (t: Test, entry: string): Policy {
  const whitelist = emptySide()
  t.ok(whitelist.domains.add(entry), `${entry} is accepted`)
  return {
    allowed: false,
    invite: true,
    email: { whitelist, blacklist: emptySide() },
    msisdn: { whitelist: emptySide(), blacklist: emptySide() }
  }
}

for (const [entry, expected] of TABLE) {
  t.test(`DomainSet ${entry}`, async (t) => {
    const set = new DomainSet()
    set.add(entry)
    for (const [domain, matches] of Object.entries(expected)) {
      t.equal(set.match(domain) !== undefined, matches, `${entry} ${matches ? 'matches' : 'does not match'} ${domain}`)
    }
  })

  t.test(`whitelist ${entry} decides the table through decide()`, async (t) => {
    const policy = whitelistPolicy(t, entry)
    for (const [domain, matches] of Object.entries(expected)) {
      const c = canonicalEmail(`user@${domain}`)
      if (!c.ok) { t.fail(c.reason); continue }
      const d = decide(policy, 'email', c.address)
      t.equal(d.allowed, matches, `user@${domain}`)
      t.equal(d.rule, matches ? 'whitelist' : 'default', `user@${domain} rule`)
    }
  })

  t.test(`blacklist ${entry} mirrors the table`, async (t) => {
    const blacklist = emptySide()
    blacklist.domains.add(entry)
    const policy: Policy = {
      allowed: true,
      invite: true,
      email: { whitelist: emptySide(), blacklist },
      msisdn: { whitelist: emptySide(), blacklist: emptySide() }
    }
    for (const [domain, matches] of Object.entries(expected)) {
      const d = decide(policy, 'email', `user@${domain}`)
      t.equal(d.allowed, !matches, `user@${domain}`)
      t.equal(d.rule, matches ? 'blacklist' : 'default')
    }
  })
}

t.test('the ma1sd doc example: *example.org, .example.net, example.com', async (t) => {
  const whitelist = emptySide()
  for (const e of ['*example.org', '.example.net', 'example.com']) whitelist.domains.add(e)
  const policy: Policy = {
    allowed: false,
    invite: true,
    email: { whitelist, blacklist: emptySide() },
    msisdn: { whitelist: emptySide(), blacklist: emptySide() }
  }
  const cases: Record<string, boolean> = {
    'example.org': true,
    'deep.sub.example.org': true,
    'example.net': false,
    'sub.example.net': true,
    'example.com': true,
    'sub.example.com': false,
    'other.org': false
  }
  for (const [domain, allowed] of Object.entries(cases)) {
    t.equal(decide(policy, 'email', `u@${domain}`).allowed, allowed, domain)
  }
})

t.test('the rule names the entry as written (canonicalised), so grep finds it in the configuration', async (t) => {
  const set = new DomainSet()
  set.add('*Example.ORG')
  set.add('.example.net')
  set.add('example.com', 2)
  t.same(set.match('example.org'), { entry: '*example.org' })
  t.same(set.match('a.b.example.org'), { entry: '*example.org' })
  t.same(set.match('x.example.net'), { entry: '.example.net' })
  t.same(set.match('example.com'), { entry: 'example.com', source: 2 }, 'and where it came from, when told')
})
