import { existsSync } from 'node:fs'
import t from 'tap'
import { runCommand } from '../helpers/cli-process.js'
import { CLI } from '../helpers/cli-path.js'

// `regguard policy check` for the MAS-style rules: username NAME, and --ip / --user-agent for
// the requester rules (judged first, as the proxy does). Exit 0 allow, 1 deny, with the rule.

const CONFIG = `storage:
  url: sqlite://./regguard.sqlite
register:
  policy:
    allowed: true
    username:
      allowed: { prefixes: ['team-'], literals: [alice] }
      banned: { literals: [team-root], suffixes: [bot], substrings: [admin], regexes: ['^[0-9]+$'] }
    requester:
      banned_ips: ['203.0.113.0/24', '2001:db8::/32', '192.0.2.7']
      banned_user_agents: { literals: [''], prefixes: ['curl/'], suffixes: [' Headless'], substrings: [EvilBot], regexes: ['^python'] }
`

t.before(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`)
})

t.test('each rule kind, with the rule that decided', async (t) => {
  const dir = t.testdir({ 'regguard.yaml': CONFIG })
  const cases: Array<[string[], number, string]> = [
    [['username', 'Alice'], 0, 'allow username alice: allowed by username.allowed literal "alice"\n'],
    [['username', 'team-bob'], 0, 'allow username team-bob: allowed by username.allowed prefix "team-"\n'],
    [['username', 'mallory'], 1, 'deny username mallory: denied by username.allowed no entry matched\n'],
    [['username', 'team-root'], 1, 'deny username team-root: denied by username.banned literal "team-root"\n'],
    [['username', 'team-bot'], 1, 'deny username team-bot: denied by username.banned suffix "bot"\n'],
    [['username', 'team-admin2'], 1, 'deny username team-admin2: denied by username.banned substring "admin"\n'],
    [['username', '\u212aevin'], 1, 'deny username kevin: denied by username.allowed no entry matched\n'],
    [['--ip', '203.0.113.9'], 1, 'deny requester ip 203.0.113.9: denied by requester.banned_ips 203.0.113.0/24\n'],
    [['--ip', '::ffff:192.0.2.7'], 1, 'deny requester ip ::ffff:192.0.2.7: denied by requester.banned_ips 192.0.2.7\n'],
    [['--ip', '2001:db8::1'], 1, 'deny requester ip 2001:db8::1: denied by requester.banned_ips 2001:db8::/32\n'],
    [['--ip', '198.51.100.1'], 0, 'allow requester ip 198.51.100.1: allowed (no requester rule matched)\n'],
    [['--user-agent', ''], 1, 'deny requester user-agent "": denied by requester.banned_user_agents literal ""\n'],
    [['--user-agent', 'curl/8.4'], 1, 'deny requester user-agent "curl/8.4": denied by requester.banned_user_agents prefix "curl/"\n'],
    [['--user-agent', 'Chrome Headless'], 1, 'deny requester user-agent "Chrome Headless": denied by requester.banned_user_agents suffix " Headless"\n'],
    [['--user-agent', 'a EvilBot b'], 1, 'deny requester user-agent "a EvilBot b": denied by requester.banned_user_agents substring "EvilBot"\n'],
    [['--user-agent', 'python-urllib'], 1, 'deny requester user-agent "python-urllib": denied by requester.banned_user_agents regex "^python"\n'],
    [['--ip', '198.51.100.1', '--user-agent', 'Element/1.11', 'username', 'team-bob'], 0,
      'allow requester ip 198.51.100.1 user-agent "Element/1.11": allowed (no requester rule matched)\nallow username team-bob: allowed by username.allowed prefix "team-"\n'],
    [['--ip', '203.0.113.1', 'username', 'team-bob'], 1, 'deny requester ip 203.0.113.1: denied by requester.banned_ips 203.0.113.0/24\n'],
    [['--ip', '198.51.100.1', 'email', 'a@example.org'], 0, 'allow requester ip 198.51.100.1: allowed (no requester rule matched)\nallow email a@example.org: allowed by default (allowed: true)\n']
  ]
  const results = await Promise.all(cases.map(([args]) => runCommand(['policy', 'check', '--config', 'regguard.yaml', ...args], { cwd: dir })))
  for (const [i, [args, code, out]] of cases.entries()) {
    const r = results[i] as Awaited<ReturnType<typeof runCommand>>
    t.equal(r.code, code, `${args.join(' ')} (${r.stderr})`)
    t.equal(r.stdout, out, args.join(' '))
  }
})

t.test('--ip and --user-agent belong to policy check', async (t) => {
  const dir = t.testdir({ 'regguard.yaml': CONFIG })
  const r = await runCommand(['check-config', '--config', 'regguard.yaml', '--ip', '192.0.2.1'], { cwd: dir })
  t.equal(r.code, 2)
  t.match(r.stderr, /--ip and --user-agent belong to policy check/)
})
