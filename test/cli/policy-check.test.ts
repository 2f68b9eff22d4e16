import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { runCommand } from '../helpers/cli-process.js'
import { CLI } from '../helpers/cli-path.js'

// `regguard policy check`: prints the decision and the rule; exit 0 allow, 1 deny.

const run = runCommand

const CONFIG = `# invites live in a store; keep it inside the test's directory
storage:
  url: sqlite://./regguard.sqlite
register:
  policy:
    allowed: false
    threepid:
      email:
        domain:
          whitelist: ['*example.org']
          blacklist: ['evil.example.org']
          blacklist_files: [disposable.txt]
      msisdn:
        pattern:
          whitelist: ['44\\d+']
          blacklist: ['447700900666']
`

t.before(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`)
})

const fixture = (t: Test): string => t.testdir({ 'regguard.yaml': CONFIG, 'disposable.txt': '# list\nmailinator.com\n' })

t.test('email: allow exits 0, deny exits 1, each with its rule', async (t) => {
  const dir = fixture(t)
  const cases: Array<[string, number, string]> = [
    ['alice@sub.example.org', 0, 'allow email alice@sub.example.org: allowed by whitelist domain *example.org\n'],
    ['Alice@Example.ORG', 0, 'allow email alice@example.org: allowed by whitelist domain *example.org\n'],
    ['eve@ＥＶＩＬ.example.org.', 1, 'deny email eve@evil.example.org: denied by blacklist domain evil.example.org\n'],
    ['x@mailinator.com', 1, `deny email x@mailinator.com: denied by blacklist domain mailinator.com (file ${join(dir, 'disposable.txt')})\n`],
    ['bob@gmail.com', 1, 'deny email bob@gmail.com: denied by default (allowed: false)\n']
  ]
  // concurrently: each run starts a node process, and the file's time limit counts them all
  const results = await Promise.all(cases.map(([address]) => run(['policy', 'check', '--config', 'regguard.yaml', 'email', address], { cwd: dir })))
  for (const [i, [address, code, out]] of cases.entries()) {
    const r = results[i] as Awaited<ReturnType<typeof run>>
    t.equal(r.code, code, `${address} exit code (${r.stderr})`)
    t.equal(r.stdout, out, address)
  }
})

t.test('msisdn: allow exits 0, deny exits 1', async (t) => {
  const dir = fixture(t)
  const cases: Array<[string, number, string]> = [
    ['+44 7700 900123', 0, 'allow msisdn 447700900123: allowed by whitelist pattern 44\\d+\n'],
    ['447700900123', 0, 'allow msisdn 447700900123: allowed by whitelist pattern 44\\d+\n'],
    ['447700900666', 1, 'deny msisdn 447700900666: denied by blacklist pattern 447700900666\n'],
    ['12025550123', 1, 'deny msisdn 12025550123: denied by default (allowed: false)\n']
  ]
  // concurrently: each run starts a node process, and the file's time limit counts them all
  const results = await Promise.all(cases.map(([number]) => run(['policy', 'check', '--config', 'regguard.yaml', 'msisdn', number], { cwd: dir })))
  for (const [i, [number, code, out]] of cases.entries()) {
    const r = results[i] as Awaited<ReturnType<typeof run>>
    t.equal(r.code, code, `${number} exit code (${r.stderr})`)
    t.equal(r.stdout, out, number)
  }
})

t.test('an address that cannot be parsed is neither allow nor deny', async (t) => {
  const dir = fixture(t)
  const email = await run(['policy', 'check', '--config', 'regguard.yaml', 'email', 'a@b@example.org'], { cwd: dir })
  t.equal(email.code, 3)
  t.match(email.stderr, /cannot parse email "a@b@example\.org"/)
  t.equal(email.stdout, '')
  const phone = await run(['policy', 'check', '--config', 'regguard.yaml', 'msisdn', 'not a number'], { cwd: dir })
  t.equal(phone.code, 3, 'rejected input: exit 3, not 1 (deny) nor 2 (usage)')
  t.match(phone.stderr, /cannot parse msisdn/)
})

t.test('a wrong medium or a missing address is a usage error', async (t) => {
  const dir = fixture(t)
  for (const args of [['fax', '123'], ['email'], []]) {
    const r = await run(['policy', 'check', '--config', 'regguard.yaml', ...args], { cwd: dir })
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, /^regguard: .*\nsee: regguard policy --help\n$/, 'one line and the hint')
  }
})

t.test('REGGUARD_CONFIG works instead of --config', async (t) => {
  const dir = fixture(t)
  const r = await run(['policy', 'check', 'email', 'eve@evil.example.org'], { cwd: dir, env: { REGGUARD_CONFIG: join(dir, 'regguard.yaml') } })
  t.equal(r.code, 1)
  t.equal(r.stdout, 'deny email eve@evil.example.org: denied by blacklist domain evil.example.org\n')
  const allowed = await run(['policy', 'check', 'msisdn', '447700900123'], { cwd: dir, env: { REGGUARD_CONFIG: join(dir, 'regguard.yaml') } })
  t.equal(allowed.code, 0)
})

t.test('a bad configuration stops policy check with the key named', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'register:\n  policy:\n    threepid:\n      msisdn:\n        pattern:\n          whitelist: ["(44"]\n' })
  const r = await run(['policy', 'check', '--config', 'bad.yaml', 'msisdn', '447700900123'], { cwd: dir })
  t.not(r.code, 0)
  t.not(r.code, 1, 'not mistaken for a denial')
  t.match(r.stderr, /register\.policy\.threepid\.msisdn\.pattern\.whitelist\[0\]/)
})
