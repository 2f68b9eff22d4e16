import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import YAML from 'yaml'
import { startHomeserver } from '../helpers/homeserver.js'
import { installedPackageDir } from '../helpers/installed.js'
import { startListServer } from '../helpers/list-server.js'
import { postRaw, runCommand, serve, tempDir } from './run.js'

// Each command of the installed `regguard` (src/cli/main.ts's usage), run to its end as a process:
// its exit status and what it prints.

t.setTimeout(150_000)

const POLICY = {
  register: {
    policy: {
      allowed: false,
      threepid: {
        email: { domain: { whitelist: ['*example.org'], blacklist: ['evil.example.org'] } },
        msisdn: { pattern: { whitelist: ['44\\d+'], blacklist: ['447700900666'] } }
      },
      username: { banned: { literals: ['root'] } },
      requester: { banned_ips: ['203.0.113.0/24'] }
    }
  }
}

/** A config file in a fresh folder (the store and list cache inside it); its path. */
function configFile (t: { teardown: (fn: () => unknown) => void }, config: Record<string, unknown>): { dir: string, file: string } {
  const dir = tempDir(t)
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, YAML.stringify({ storage: { url: `sqlite://${join(dir, 'store', 'regguard.sqlite')}` }, lists: { cache_dir: join(dir, 'lists') }, ...config }))
  return { dir, file }
}

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

t.test('invites add, list and revoke on the store a running regguard shares', async (t) => {
  const { dir, file } = configFile(t, POLICY)
  const added = await runCommand(t, ['invites', 'add', '--config', file, 'email', ' Ann@Partner.TEST'])
  t.equal(added.code, 0, added.stderr)
  const id = /^added invite (\S+): email ann@partner\.test, expires \S+Z$/m.exec(added.stdout)?.[1]
  t.ok(id, `the new invite's id: ${added.stdout}`)
  const phone = await runCommand(t, ['invites', 'add', '--config', file, 'msisdn', '+33 6 12 34 56 78'])
  t.equal(phone.code, 0, phone.stderr)
  t.match(phone.stdout, /msisdn 33612345678/)

  const list = await runCommand(t, ['invites', 'list', '--config', file])
  t.equal(list.code, 0, list.stderr)
  const rows = list.stdout.trim().split('\n')
  t.equal(rows[0], 'id\tmedium\taddress\tstate\texpires\tsource\troom\tinviter', 'a header')
  t.same(rows.slice(1).map((r) => r.split('\t').slice(0, 4)), [[id, 'email', 'ann@partner.test', 'pending'], [rows[2]?.split('\t')[0], 'msisdn', '33612345678', 'pending']])
  const filtered = await runCommand(t, ['invites', 'list', '--config', file, '--medium', 'msisdn'])
  t.equal(filtered.stdout.trim().split('\n').length, 2, '--medium filters')

  // the running command sees what the CLI wrote, from its next request
  const hs = await startHomeserver(t)
  const rg = await serve(t, hs.url, { ...POLICY, storage: { url: `sqlite://${join(dir, 'store', 'regguard.sqlite')}` } })
  const ask = async (email: string): Promise<number> => (await postRaw(rg.port, '/_matrix/client/v3/register/email/requestToken', JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 }))).status
  t.equal(await ask('ann@partner.test'), 200, 'invited by the CLI: allowed by the server')
  const revoked = await runCommand(t, ['invites', 'revoke', '--config', file, id as string])
  t.equal(revoked.code, 0, revoked.stderr)
  t.equal(revoked.stdout, `revoked invite ${id as string}\n`)
  t.equal(await ask('ann@partner.test'), 403, 'revoked by the CLI: denied by the server')
  const unknown = await runCommand(t, ['invites', 'revoke', '--config', file, '999999'])
  t.equal(unknown.code, 3, 'revoking an unknown id fails')
  t.match(unknown.stderr, /^regguard: no invite "999999"/)
  const after = await runCommand(t, ['invites', 'list', '--config', file, '--medium', 'email'])
  t.match(after.stdout.trim().split('\n')[1] ?? '', new RegExp(`^${id as string}\\temail\\tann@partner\\.test\\trevoked`), 'listed as revoked')
})

t.test('invites import (all or nothing) and invites revoke --inviter', async (t) => {
  const { dir, file } = configFile(t, POLICY)
  const csv = join(dir, 'invites.csv')
  writeFileSync(csv, 'medium,address\nemail,one@partner.test\nmsisdn,+44 7700 900111\n')
  const imported = await runCommand(t, ['invites', 'import', '--config', file, csv])
  t.equal(imported.code, 0, imported.stderr)
  t.equal(imported.stdout, `imported 2 invites from ${csv}\n`, 'a spreadsheet\'s header row skipped')
  const bad = join(dir, 'bad.csv')
  writeFileSync(bad, 'email,two@partner.test\nemail,not an address\n')
  const refused = await runCommand(t, ['invites', 'import', '--config', file, bad])
  t.not(refused.code, 0, 'a file with a bad line is refused')
  t.match(refused.stderr, /^regguard: /)
  const list = await runCommand(t, ['invites', 'list', '--config', file])
  t.same(list.stdout.trim().split('\n').slice(1).map((r) => r.split('\t')[2]), ['one@partner.test', '447700900111'], 'nothing of the refused file was added')
  t.equal((await runCommand(t, ['policy', 'check', '--config', file, 'email', 'one@partner.test'])).code, 0, 'an imported invite allows')

  const added = await runCommand(t, ['invites', 'add', '--config', file, 'email', 'three@partner.test'])
  t.equal(added.code, 0)
  const byInviter = await runCommand(t, ['invites', 'revoke', '--config', file, '--inviter', '@nobody:example.org'])
  t.equal(byInviter.code, 0, byInviter.stderr)
  t.equal(byInviter.stdout, 'revoked 0 invites of @nobody:example.org\n')
})

t.test('lists refresh and lists status: the live lists fetched into lists.cache_dir', async (t) => {
  const lists = await startListServer(t)
  lists.serve('/bl.txt', { body: 'mailinator.example\ntrash.example\n', etag: '"v1"' })
  lists.serve('/down.txt', { status: 500, body: 'down' })
  const { file } = configFile(t, { register: { policy: { threepid: { email: { domain: { blacklist_urls: [lists.url('/bl.txt')] } } } } } })
  const before = await runCommand(t, ['lists', 'status', '--config', file])
  t.equal(before.code, 0)
  t.match(before.stdout, `blacklist ${lists.url('/bl.txt')}: no cached copy`)
  const refresh = await runCommand(t, ['lists', 'refresh', '--config', file])
  t.equal(refresh.code, 0, refresh.stderr)
  t.equal(refresh.stdout, `ok ${lists.url('/bl.txt')}: 2 entries\n`)
  t.equal(lists.requestsFor('/bl.txt').length, 1, 'fetched from the list server')
  const status = await runCommand(t, ['lists', 'status', '--config', file])
  t.match(status.stdout, new RegExp(`^blacklist ${lists.url('/bl.txt').replace(/[.?]/g, '\\$&')}: 2 entries, fetched `), 'the cached copy')
  t.equal((await runCommand(t, ['policy', 'check', '--config', file, 'email', 'a@mailinator.example'])).code, 1, 'policy check reads the cached list')

  const { file: failing } = configFile(t, { register: { policy: { threepid: { email: { domain: { blacklist_urls: [lists.url('/down.txt')] } } } } } })
  const failed = await runCommand(t, ['lists', 'refresh', '--config', failing])
  t.equal(failed.code, 3, 'a list that cannot be fetched: exit 3')
  t.match(failed.stdout, /^error /)
  const none = await runCommand(t, ['lists', 'status', '--config', configFile(t, {}).file])
  t.equal(none.stdout, 'no live lists configured (register.policy.threepid.email.domain.*_urls)\n')
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
