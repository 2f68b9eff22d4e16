import { existsSync } from 'node:fs'
import t from 'tap'
import YAML from 'yaml'
import { masPolicyYaml } from '../../src/cli/export-mas.js'
import { loadConfig } from '../../src/config/load.js'
import { canonicalEmail } from '../../src/synapse/canonical.js'
import { decide } from '../../src/policy/policy.js'
import { decideRequester } from '../../src/policy/requester.js'
import { decideUsername } from '../../src/policy/username.js'
import { runCommand } from '../helpers/cli-process.js'
import { CLI } from '../helpers/cli-path.js'

// `regguard export mas-policy`: MAS's policy.data for the current policy. The output is parsed
// back and judged with MAS's own semantics, written out here from its rego (common.rego
// matches_string_constraints, email.rego, register.rego), and must decide as regguard does.

type Constraints = Partial<Record<'literals' | 'prefixes' | 'suffixes' | 'substrings' | 'regexes', string[]>>
interface MasData {
  registration?: { allowed_usernames?: Constraints, banned_usernames?: Constraints }
  emails?: { allowed_addresses?: Constraints, banned_addresses?: Constraints }
  requester?: { banned_ips?: string[], banned_user_agents?: Constraints }
}

// common.rego: any kind matching; regex.match searches (JavaScript's RegExp standing in for RE2)
function masMatches (s: string, c: Constraints | undefined): boolean {
  if (c === undefined) return false
  return (c.literals ?? []).includes(s) || (c.prefixes ?? []).some((p) => s.startsWith(p)) ||
    (c.suffixes ?? []).some((p) => s.endsWith(p)) || (c.substrings ?? []).some((p) => s.includes(p)) ||
    (c.regexes ?? []).some((r) => new RegExp(r).test(s))
}
// email.rego: banned denies; allowed_addresses, when set at all, must match
const masEmailAllowed = (d: MasData, email: string): boolean =>
  !masMatches(email, d.emails?.banned_addresses) && (d.emails?.allowed_addresses === undefined || masMatches(email, d.emails.allowed_addresses))
const masUsernameAllowed = (d: MasData, name: string): boolean =>
  !masMatches(name, d.registration?.banned_usernames) && (d.registration?.allowed_usernames === undefined || masMatches(name, d.registration.allowed_usernames))

const CONFIG = {
  register: {
    policy: {
      allowed: false,
      invite: true,
      threepid: {
        email: {
          domain: { whitelist: ['*example.org', '.example.net', 'example.com', 'bücher.example'], blacklist: ['evil.example.org', '.bad.example.com'] },
          pattern: { whitelist: ['vip\\..*@partner\\.test'], blacklist: ['.*\\+spam@.*', '(?!ok).*@lookahead\\.example\\.org'] }
        },
        msisdn: { pattern: { blacklist: ['44\\d+'] } }
      },
      username: {
        allowed: { prefixes: ['team-'], literals: ['Alice'] },
        banned: { literals: ['team-root'], regexes: ['^[0-9]+$'], substrings: ['admin'] }
      },
      requester: { banned_ips: ['203.0.113.0/24', '2001:db8::/32'], banned_user_agents: { prefixes: ['curl/'], substrings: ['EvilBot'] } }
    }
  }
}

t.test('the exported data decides every rule kind as regguard does', async (t) => {
  const loaded = loadConfig({ object: CONFIG, env: {} })
  const text = masPolicyYaml(loaded.settings, loaded.policy, 'regguard.yaml')
  const parsed = YAML.parse(text) as { policy: { data: MasData } }
  const d = parsed.policy.data
  t.same(d.registration, {
    allowed_usernames: { literals: ['alice'], prefixes: ['team-'] },
    banned_usernames: { literals: ['team-root'], substrings: ['admin'], regexes: ['^[0-9]+$'] }
  })
  t.same(d.emails?.banned_addresses, { suffixes: ['@evil.example.org', '.bad.example.com'], regexes: ['^(?:.*\\+spam@.*)$', '^(?:(?!ok).*@lookahead\\.example\\.org)$'] })
  t.same(d.emails?.allowed_addresses, { suffixes: ['@example.org', '.example.org', '.example.net', '@example.com', '@xn--bcher-kva.example', '@bücher.example'], regexes: ['^(?:vip\\..*@partner\\.test)$'] })
  t.same(d.requester, { banned_ips: ['203.0.113.0/24', '2001:db8::/32'], banned_user_agents: { prefixes: ['curl/'], substrings: ['EvilBot'] } })

  const emails = ['a@example.org', 'a@sub.example.org', 'a@evil.example.org', 'a@x.evil.example.org', 'a@example.net', 'a@sub.example.net',
    'a@example.com', 'a@sub.example.com', 'a@bad.example.com', 'a@x.bad.example.com', 'a+spam@example.org', 'vip.bob@partner.test',
    'bob@partner.test', 'a@gmail.com', 'a@notexample.org', 'a@xn--bcher-kva.example', 'okay@lookahead.example.org', 'x@lookahead.example.org']
  for (const e of emails) {
    const c = canonicalEmail(e)
    if (!c.ok) { t.fail(e); continue }
    t.equal(masEmailAllowed(d, c.address), decide(loaded.policy, 'email', c.address, null).allowed, e)
  }
  const names = ['alice', 'team-bob', 'team-root', 'team-admin', 'bob', '1234', 'team-1234']
  for (const n of names) t.equal(masUsernameAllowed(d, n), decideUsername(loaded.policy.username!, n).allowed, n)
  for (const ua of ['curl/8.1', 'Mozilla EvilBot', 'Element/1.11', 'xcurl/']) {
    t.equal(masMatches(ua, d.requester?.banned_user_agents), !decideRequester(loaded.policy.requester!, null, [ua]).allowed, ua)
  }
})

t.test('what MAS cannot express is a comment, naming it', async (t) => {
  const loaded = loadConfig({ object: { register: { policy: { ...CONFIG.register.policy, threepid: { ...CONFIG.register.policy.threepid, email: { ...CONFIG.register.policy.threepid.email, domain: { ...CONFIG.register.policy.threepid.email.domain, blacklist_files: ['disposable.txt'] } } } } } }, env: {}, baseDir: t.testdir({ 'disposable.txt': 'mailinator.com\n' }) })
  const doc = YAML.parseDocument(masPolicyYaml(loaded.settings, loaded.policy, 'regguard.yaml'))
  const header = doc.commentBefore ?? ''
  t.match(header, /register\.policy\.invite: MAS has no 3PID invites/)
  t.match(header, /register\.policy\.threepid\.msisdn: MAS registers no phone numbers/)
  t.match(header, /require_3pid is false/)
  const emailsKey = (doc.getIn(['policy', 'data'], true) as YAML.YAMLMap).items.find((i) => (i.key as YAML.Scalar).value === 'emails')?.key as YAML.Scalar
  const emailNotes = emailsKey.commentBefore ?? ''
  t.match(emailNotes, /NOT EXPORTED, MAS would let these through: the blacklist file disposable\.txt/)
  t.match(emailNotes, /"\(\?!ok\)\.\*@lookahead\\\\\.example\\\\\.org" uses JavaScript-only syntax/)
  t.match(emailNotes, /case-sensitively/)
})

t.test('allowed: true leaves allowed_addresses out (the whitelist decides nothing) and says so', async (t) => {
  const loaded = loadConfig({ object: { register: { policy: { allowed: true, invite: false, require_3pid: true, threepid: { email: { domain: { whitelist: ['example.org'], blacklist: ['evil.example'] } } } } } }, env: {} })
  const doc = YAML.parseDocument(masPolicyYaml(loaded.settings, loaded.policy, 'x.yaml'))
  const data = (doc.toJS() as { policy: { data: MasData } }).policy.data
  t.same(data, { emails: { banned_addresses: { suffixes: ['@evil.example'] } } })
  t.notMatch(doc.commentBefore ?? '', /invite/, 'no invite note when invites are off')
  t.match(doc.toString(), /the email whitelist is not exported: with register\.policy\.allowed true it decides nothing/)
})

t.test('allowed: false with no whitelist: an empty allowed_addresses (MAS: nobody), with a note', async (t) => {
  const loaded = loadConfig({ object: { register: { policy: { allowed: false } } }, env: {} })
  const text = masPolicyYaml(loaded.settings, loaded.policy, 'x.yaml')
  t.same((YAML.parse(text) as { policy: { data: MasData } }).policy.data, { emails: { allowed_addresses: {} } })
  t.match(text, /allowed_addresses is set but empty, which MAS reads as "no address may register"/)
})

t.test('the CLI prints it for a config file', async (t) => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`)
  const dir = t.testdir({ 'regguard.yaml': YAML.stringify({ storage: { url: 'sqlite://./r.sqlite' }, ...CONFIG }) })
  const r = await runCommand(['export', 'mas-policy', '--config', 'regguard.yaml'], { cwd: dir })
  t.equal(r.code, 0, r.stderr)
  const data = (YAML.parse(r.stdout) as { policy: { data: MasData } }).policy.data
  t.same(data.requester?.banned_ips, ['203.0.113.0/24', '2001:db8::/32'])
  t.match(r.stdout, /^# MAS policy data equivalent to the register policy of .*regguard\.yaml/)
  const bad = await runCommand(['export', 'nothing', '--config', 'regguard.yaml'], { cwd: dir })
  t.equal(bad.code, 2)
  t.match(bad.stderr, /unknown export command/)
})
