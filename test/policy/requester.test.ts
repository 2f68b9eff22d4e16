import t from 'tap'
import { PolicyConfigError } from '../../src/policy/policy.js'
import { compileIpRules, decideRequester, describeRequesterDecision, matchIp, userAgentsOf, type RequesterRules } from '../../src/policy/requester.js'
import { compileConstraints, type ConstraintLists } from '../../src/policy/string-constraints.js'

const none: ConstraintLists = { literals: [], prefixes: [], suffixes: [], substrings: [], regexes: [] }
function rules (ips: string[], ua: Partial<ConstraintLists> = {}): RequesterRules {
  return { ...compileIpRules(ips, 'register.policy.requester.banned_ips'), userAgents: compileConstraints({ ...none, ...ua }, 'ua') }
}

t.test('addresses and CIDR ranges, IPv4 and IPv6, naming the entry that matched', async (t) => {
  const r = rules(['192.0.2.7', '198.51.100.0/24', '2001:db8::/32', '2001:db8:ffff::1', ' 203.0.113.0/28 '])
  const cases: Array<[string, string | undefined]> = [
    ['192.0.2.7', '192.0.2.7'],
    ['192.0.2.8', undefined],
    ['198.51.100.255', '198.51.100.0/24'],
    ['198.51.101.0', undefined],
    ['2001:db8:1::5', '2001:db8::/32'],
    ['2001:DB8::5', '2001:db8::/32'],
    ['2001:db9::1', undefined],
    ['203.0.113.15', '203.0.113.0/28'],
    ['203.0.113.16', undefined],
    // a dual-stack socket reports IPv4 peers as IPv4-mapped IPv6 addresses: still IPv4
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['::ffff:c000:207', '192.0.2.7'],
    ['::ffff:198.51.100.9', '198.51.100.0/24'],
    ['fe80::1%eth0', undefined],
    ['not an ip', undefined]
  ]
  for (const [ip, hit] of cases) t.equal(matchIp(r, ip), hit, ip)
})

t.test('an IPv4-mapped entry bans the IPv4 address', async (t) => {
  const r = rules(['::ffff:192.0.2.0/120'])
  t.equal(matchIp(r, '192.0.2.200'), '::ffff:192.0.2.0/120')
})

t.test('bad entries stop start-up naming the key', async (t) => {
  for (const bad of ['192.0.2', '192.0.2.1/33', '2001:db8::/129', '192.0.2.0/x', 'example.org', '', 'fe80::1%eth0', '192.0.2.0/-1']) {
    const err = t.throws(() => compileIpRules(['192.0.2.1', bad], 'register.policy.requester.banned_ips'), bad) as PolicyConfigError
    t.type(err, PolicyConfigError)
    t.equal(err.key, 'register.policy.requester.banned_ips[1]', bad)
  }
})

t.test('User-Agent: every header judged, Synapse\'s ASCII decoding, none is ""', async (t) => {
  t.same(userAgentsOf(['Host', 'x', 'User-Agent', 'Good/1', 'user-agent', 'EvilBot/2']), ['Good/1', 'EvilBot/2'])
  t.same(userAgentsOf(['Host', 'x']), [''])
  t.same(userAgentsOf(['User-Agent', 'caf\xc3\xa9']), ['caf\ufffd\ufffd'], 'bytes above 0x7f become U+FFFD')
  const r = rules([], { substrings: ['EvilBot'], literals: [''] })
  t.equal(describeRequesterDecision(decideRequester(r, '192.0.2.1', userAgentsOf(['User-Agent', 'Good/1', 'User-Agent', 'EvilBot/2']))), 'denied by requester.banned_user_agents substring "EvilBot"', 'the last header (Synapse\'s) is judged')
  t.equal(describeRequesterDecision(decideRequester(r, '192.0.2.1', userAgentsOf(['User-Agent', 'EvilBot/2', 'User-Agent', 'Good/1']))), 'denied by requester.banned_user_agents substring "EvilBot"', 'the first (other proxies\') too')
  t.equal(decideRequester(r, '192.0.2.1', userAgentsOf([])).allowed, false, 'a literal "" bans clients without a User-Agent')
  t.equal(decideRequester(r, '192.0.2.1', ['Good/1']).allowed, true)
})

t.test('IP first, then User-Agent; nothing configured allows', async (t) => {
  const r = rules(['192.0.2.0/24'], { prefixes: ['curl/'] })
  t.equal(describeRequesterDecision(decideRequester(r, '192.0.2.9', ['curl/8'])), 'denied by requester.banned_ips 192.0.2.0/24')
  t.equal(describeRequesterDecision(decideRequester(r, '203.0.113.1', ['curl/8'])), 'denied by requester.banned_user_agents prefix "curl/"')
  t.equal(describeRequesterDecision(decideRequester(r, '203.0.113.1', ['Element/1'])), 'allowed (no requester rule matched)')
  t.equal(decideRequester(rules([]), '192.0.2.9', ['curl/8']).allowed, true)
})
