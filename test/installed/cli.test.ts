import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import YAML from 'yaml'
import { installedPackageDir } from '../helpers/installed.js'
import { configFile, POLICY } from './cli-fixtures.js'
import { runCommand, tempDir } from './run.js'

// Each command of the installed `regguard` (src/cli/main.ts's usage), run to its end as a process:
// its exit status and what it prints. The commands on the store and the live lists are in
// cli-store.test.ts.

t.setTimeout(150_000)

t.test('--help, and an unknown command', async (t) => {
  const help = await runCommand(t, ['--help'])
  t.equal(help.code, 0, '--help exits 0')
  t.match(help.stdout, /^usage:/)
  for (const command of ['check-config', 'policy check', 'export mas-policy', 'lists status', 'lists refresh', 'config sample', 'invites add', 'invites list', 'invites revoke', 'invites import']) {
    t.ok(help.stdout.includes(command), `the usage names ${command}`)
  }
  t.equal(help.stderr, '')
  const unknown = await runCommand(t, ['frobnicate'])
  t.equal(unknown.code, 2, 'an unknown command exits 2')
  t.match(unknown.stderr, /^regguard: unknown command frobnicate/)
  t.equal(unknown.stdout, '')
})

t.test('check-config: a valid file exits 0, a bad one 2 naming the key; REGGUARD_CONFIG names the file', async (t) => {
  const { dir, file } = configFile(t, POLICY)
  const ok = await runCommand(t, ['check-config', '--config', file])
  t.equal(ok.code, 0, ok.stderr)
  t.equal(ok.stdout, `configuration ${file} is valid\n`)
  const fromEnv = await runCommand(t, ['check-config'], { env: { REGGUARD_CONFIG: file } })
  t.equal(fromEnv.code, 0)
  t.equal(fromEnv.stdout, `configuration ${file} is valid\n`)
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'register:\n  policy:\n    allowed: maybe\n  no_such_key: 1\n')
  const refused = await runCommand(t, ['check-config', '--config', bad])
  t.equal(refused.code, 2, 'an invalid file exits 2')
  t.match(refused.stderr, /no_such_key|allowed/, 'the error names what is wrong')
  t.equal(refused.stdout, '')
})

t.test('config sample: the shipped example, and a valid configuration', async (t) => {
  const sample = await runCommand(t, ['config', 'sample'])
  t.equal(sample.code, 0)
  t.equal(sample.stdout, readFileSync(join(installedPackageDir(), 'config', 'regguard.example.yaml'), 'utf8'), 'the same as config/regguard.example.yaml in the package')
  const dir = tempDir(t)
  writeFileSync(join(dir, 'sample.yaml'), sample.stdout)
  const checked = await runCommand(t, ['check-config', '--config', join(dir, 'sample.yaml')], { cwd: dir })
  t.equal(checked.code, 0, `the sample is a valid configuration: ${checked.stderr}`)
})

t.test('policy check: the decision and its rule; exit 0 allow, 1 deny', async (t) => {
  const { file } = configFile(t, POLICY)
  const cases: Array<[string[], number, RegExp]> = [
    [['email', 'Alice@Sub.Example.ORG'], 0, /^allow email alice@sub\.example\.org: allowed by whitelist domain/],
    [['email', 'eve@evil.example.org'], 1, /^deny email eve@evil\.example\.org: denied by blacklist domain evil\.example\.org/],
    [['email', 'bob@elsewhere.test'], 1, /^deny email bob@elsewhere\.test:/],
    [['msisdn', '+44 7700 900123'], 0, /^allow msisdn 447700900123:/],
    [['msisdn', '447700900666'], 1, /^deny msisdn 447700900666:/],
    [['username', 'root'], 1, /^deny username root:/],
    [['username', 'alice'], 0, /^allow username alice:/],
    [['--ip', '203.0.113.7', '--user-agent', 'x', 'email', 'alice@example.org'], 1, /^deny requester /]
  ]
  // independent processes: run at once
  const results = await Promise.all(cases.map(async ([args]) => await runCommand(t, ['policy', 'check', '--config', file, ...args])))
  for (const [i, [args, code, out]] of cases.entries()) {
    const r = results[i] as Awaited<ReturnType<typeof runCommand>>
    t.equal(r.code, code, `${args.join(' ')}: exit ${code} (${r.stderr})`)
    t.match(r.stdout, out, args.join(' '))
  }
  const usage = await runCommand(t, ['policy', 'check', '--config', file, 'fax', '123'])
  t.not(usage.code, 0, 'an unknown medium is not a decision')
})

type Constraints = Partial<Record<'literals' | 'prefixes' | 'suffixes' | 'substrings' | 'regexes', string[]>>

/** MAS's matches_string_constraints (common.rego): any kind matching; regexes search, (?i) as the i flag. */
function masMatches (s: string, c: Constraints | undefined): boolean {
  if (c === undefined) return false
  const re = (r: string): RegExp => r.startsWith('(?i)') ? new RegExp(r.slice(4), 'i') : new RegExp(r)
  return (c.literals ?? []).includes(s) || (c.prefixes ?? []).some((p) => s.startsWith(p)) ||
    (c.suffixes ?? []).some((p) => s.endsWith(p)) || (c.substrings ?? []).some((p) => s.includes(p)) ||
    (c.regexes ?? []).some((r) => re(r).test(s))
}

t.test('export mas-policy: the policy as MAS policy.data, deciding as regguard does', async (t) => {
  const { file } = configFile(t, POLICY)
  const r = await runCommand(t, ['export', 'mas-policy', '--config', file])
  t.equal(r.code, 0, r.stderr)
  const data = (YAML.parse(r.stdout) as { policy?: { data?: Record<string, any> } }).policy?.data
  t.ok(data, `policy.data: ${r.stdout.slice(0, 500)}`)
  const emails = data?.emails as { allowed_addresses?: Constraints, banned_addresses?: Constraints } | undefined
  // email.rego: banned denies; allowed_addresses, when set at all, must match
  const emailAllowed = (e: string): boolean => !masMatches(e, emails?.banned_addresses) && (emails?.allowed_addresses === undefined || masMatches(e, emails.allowed_addresses))
  for (const [email, allowed] of [['alice@example.org', true], ['alice@sub.example.org', true], ['eve@evil.example.org', false], ['bob@elsewhere.test', false]] as const) {
    t.equal(emailAllowed(email), allowed, `${email}: ${allowed ? 'allowed' : 'denied'} by the exported data`)
  }
  t.ok(masMatches('root', data?.registration?.banned_usernames), 'the banned username')
  t.notOk(masMatches('alice', data?.registration?.banned_usernames))
  t.same(data?.requester?.banned_ips, ['203.0.113.0/24'], 'the banned network')
  t.match(r.stdout, /^#.*msisdn/m, 'what MAS cannot express is said in comments (the msisdn patterns)')
  const unknown = await runCommand(t, ['export', 'nothing', '--config', file])
  t.equal(unknown.code, 2)
})
