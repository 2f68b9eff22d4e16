import t from 'tap'
import { emailAllowed, emailViolations, globMatch, ipInList, matchesStringConstraints, re2ToRegExp, regexMatch, requesterBanned, usernameAllowed } from '../helpers/mas-policy.js'

// The evaluator of test/helpers/mas-policy.ts against MAS's own policy tests
// (policies/common/common_test.rego, policies/email/email_test.rego, element-hq/
// matrix-authentication-service), each rule written as there, then the Rego and RE2 semantics
// the exported data leans on.

t.test('common_test.rego', async (t) => {
  // test_match_literals
  t.ok(matchesStringConstraints('literal', { literals: ['literal'] }))
  t.notOk(matchesStringConstraints('literal', { literals: ['lit'] }))
  // test_match_substring
  t.ok(matchesStringConstraints('some string', { substrings: ['str'] }))
  t.notOk(matchesStringConstraints('some string', { substrings: ['something'] }))
  // test_match_regex
  t.ok(matchesStringConstraints('some string', { regexes: ['^some'] }))
  t.notOk(matchesStringConstraints('some string', { regexes: ['^string'] }))
  // test_match_prefix
  t.ok(matchesStringConstraints('some string', { prefixes: ['some'] }))
  t.notOk(matchesStringConstraints('some string', { prefixes: ['string'] }))
  // test_match_suffix
  t.ok(matchesStringConstraints('some string', { suffixes: ['string'] }))
  t.notOk(matchesStringConstraints('some string', { suffixes: ['some'] }))
  // test_ip_in_list
  t.ok(ipInList('192.168.1.1', ['192.168.1.1']))
  t.ok(ipInList('192.168.1.1', ['192.168.1.0/24']))
  t.ok(ipInList('::1', ['::1']))
  t.ok(ipInList('::1', ['::/64']))
  t.notOk(ipInList('192.168.1.1', ['192.168.1.2/32']))
  // test_requester_banned
  t.ok(requesterBanned({ requester: { banned_ips: ['192.168.1.1'] } }, { ip_address: '192.168.1.1', user_agent: 'Mozilla/5.0' }))
})

t.test('email_test.rego', async (t) => {
  const email = 'hello@staging.element.io'
  t.ok(emailAllowed({}, email), 'test_allow_all_domains')
  t.ok(emailAllowed({ allowed_domains: ['*.element.io'] }, email), 'test_allowed_domain')
  t.notOk(emailAllowed({ allowed_domains: ['example.com'] }, email), 'test_not_allowed_domain')
  t.notOk(emailAllowed({ banned_domains: ['*.element.io'] }, email), 'test_banned_domain')
  t.notOk(emailAllowed({ allowed_domains: ['*.element.io'], banned_domains: ['staging.element.io'] }, email), 'test_banned_subdomain')
  t.notOk(emailAllowed({ emails: { banned_addresses: { regexes: ['hello@.*'] } } }, email), 'test_regex_banned')
  t.notOk(emailAllowed({ emails: { banned_addresses: { literals: ['hello@staging.element.io'] } } }, email), 'test_literal_banned')
  t.ok(emailAllowed({ emails: { allowed_addresses: { regexes: ['hello@.*'] } } }, email), 'test_regex_allowed')
  t.notOk(emailAllowed({ emails: { allowed_addresses: { regexes: ['hola@.*'] } } }, email), 'test_regex_allowed (not)')
  t.ok(emailAllowed({ emails: { allowed_addresses: { literals: ['hello@staging.element.io'] } } }, email), 'test_literal_allowed')
  t.notOk(emailAllowed({ emails: { allowed_addresses: { literals: ['hola@staging.element.io'] } } }, email), 'test_literal_allowed (not)')
  t.same(emailViolations({ allowed_domains: ['example.com'], banned_domains: ['*.element.io'], emails: { allowed_addresses: {}, banned_addresses: { substrings: ['hello'] } } }, email),
    ['email-domain-not-allowed', 'email-domain-banned', 'email-not-allowed', 'email-banned'], 'the four violation codes')
})

t.test('crates/policy tests: substrings pushed as dynamic data ban an address', async (t) => {
  // lib.rs: {"emails": {"banned_addresses": {"substrings": ["hello"]}}} refuses hello@example.com
  t.notOk(emailAllowed({ emails: { banned_addresses: { substrings: ['hello'] } } }, 'hello@example.com'))
  t.ok(emailAllowed({ emails: { banned_addresses: { substrings: ['hello'] } } }, 'bye@example.com'))
})

t.test('what MAS does not do: case-insensitive globs, suffixes or literals', async (t) => {
  // the reason the export uses (?i) regexes: these let the upper-case spelling through
  t.ok(emailAllowed({ banned_domains: ['mailinator.com'] }, 'x@MAILINATOR.COM'))
  t.ok(emailAllowed({ emails: { banned_addresses: { suffixes: ['@mailinator.com'] } } }, 'x@Mailinator.com'))
  t.notOk(emailAllowed({ emails: { banned_addresses: { regexes: ['(?i)@mailinator\\.com$'] } } }, 'x@MaIlInAtOr.CoM'))
})

t.test('Rego: an empty allowed list or object is set (nobody), false is not set', async (t) => {
  t.notOk(emailAllowed({ emails: { allowed_addresses: {} } }, 'a@b.c'))
  t.notOk(emailAllowed({ allowed_domains: [] }, 'a@b.c'))
  t.ok(emailAllowed({ allowed_domains: false }, 'a@b.c'))
  // split(input.email, "@") with two "@": the domain rules bind nothing
  t.notOk(emailAllowed({ allowed_domains: ['c'] }, 'a@b@c'))
  t.ok(emailAllowed({ banned_domains: ['c'] }, 'a@b@c'))
  t.notOk(usernameAllowed({ registration: { allowed_usernames: {} } }, 'alice'))
  t.ok(usernameAllowed({ registration: { banned_usernames: { literals: ['root'] } } }, 'alice'))
})

t.test('glob.match with the "." delimiter (gobwas/glob)', async (t) => {
  t.ok(globMatch('*.element.io', ['.'], 'staging.element.io'))
  t.notOk(globMatch('*.element.io', ['.'], 'a.staging.element.io'), '* matches one label')
  t.ok(globMatch('**.element.io', ['.'], 'a.staging.element.io'), '** crosses labels')
  t.notOk(globMatch('*.element.io', ['.'], 'element.io'))
  t.ok(globMatch('element.?o', ['.'], 'element.io'))
  t.ok(globMatch('{a,b}.example', ['.'], 'b.example'))
  t.ok(globMatch('[ab].example', ['.'], 'a.example'))
  t.notOk(globMatch('[!ab].example', ['.'], 'a.example'))
  t.notOk(globMatch('example.org', ['.'], 'Example.org'), 'case-sensitive')
})

t.test('RE2 semantics: a search, (?i) folds Unicode, "." stops at \\n only, no lookaround', async (t) => {
  t.ok(regexMatch('b', 'abc'), 'unanchored')
  t.notOk(regexMatch('^b', 'abc'))
  t.ok(regexMatch('(?i)^ÉTÉ$', 'été'))
  t.ok(regexMatch('(?i)k', '\u212a'), 'the Kelvin sign folds to k')
  t.ok(regexMatch('a.c', 'a\rc'))
  t.notOk(regexMatch('a.c', 'a\nc'))
  t.ok(regexMatch('(?s)a.c', 'a\nc'))
  t.notOk(regexMatch('a$', 'a\n'), '$ is the end of the text')
  t.ok(regexMatch('a\\@b\\-c', 'a@b-c'), 'any punctuation may be escaped')
  t.ok(regexMatch('[\\-a]', '-'))
  t.notOk(regexMatch('\\s', '\u00a0'), '\\s is ASCII space only')
  t.ok(regexMatch('(?P<x>a)', 'a'))
  t.throws(() => re2ToRegExp('(?=a)'), /lookaround/)
  t.throws(() => re2ToRegExp('(a)\\1'), /backreference/)
})
