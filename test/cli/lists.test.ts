import t, { type Test } from 'tap'
import { runCommand } from '../helpers/cli-process.js'
import { startDnsServer } from '../helpers/dns-server.js'
import { startListServer, type ListServer } from '../helpers/list-server.js'

// `regguard lists status|refresh` and `policy check` with live lists and mail-server rules,
// against a list server and a DNS server on loopback.

t.setTimeout(120_000)

const config = (lists: ListServer, dns: string, extra = ''): string => `storage:
  url: sqlite://./regguard.sqlite
lists:
  cache_dir: ./cache
  timeout_ms: 2000
dns:
  servers: ["${dns}"]
  timeout_ms: 500
register:
  policy:
    allowed: true
    threepid:
      email:
        domain:
          blacklist_urls: ["${lists.url('/disposable.txt')}"]
          whitelist_urls: ["${lists.url('/friends.txt')}"]
        mx:
          require: true
          blacklist: ["*mailinator.com"]
${extra}`

async function fixture (t: Test) {
  const lists = await startListServer(t)
  lists.serve('/disposable.txt', { body: 'mailinator.com\nyopmail.com\n', etag: '"d1"' })
  lists.serve('/friends.txt', { body: 'friends.example\n' })
  const dns = await startDnsServer(t, {
    'good.example': { MX: [{ preference: 1, exchange: 'mx.good.example' }] },
    'nullmx.example': { MX: [{ preference: 0, exchange: '.' }] },
    'custom.example': { MX: [{ preference: 1, exchange: 'mx1.mailinator.com' }] },
    'broken.example': { fail: 'SERVFAIL' }
  })
  const dir = t.testdir({ 'regguard.yaml': config(lists, dns.address) })
  return { lists, dns, dir }
}

t.test('lists status before and after lists refresh; refresh exits 1 when a list fails', async (t) => {
  const { lists, dir } = await fixture(t)
  const before = await runCommand(['lists', 'status', '--config', 'regguard.yaml'], { cwd: dir })
  t.equal(before.code, 0, before.stderr)
  t.equal(before.stdout, `blacklist ${lists.url('/disposable.txt')}: no cached copy\nwhitelist ${lists.url('/friends.txt')}: no cached copy\n`)
  t.equal(lists.requests.length, 0, 'status fetches nothing')

  const refresh = await runCommand(['lists', 'refresh', '--config', 'regguard.yaml'], { cwd: dir })
  t.equal(refresh.code, 0, refresh.stderr)
  t.equal(refresh.stdout, `ok ${lists.url('/disposable.txt')}: 2 entries\nok ${lists.url('/friends.txt')}: 1 entries\n`)

  const after = await runCommand(['lists', 'status', '--config', 'regguard.yaml'], { cwd: dir })
  t.match(after.stdout, new RegExp(`^blacklist ${lists.url('/disposable.txt').replace(/[.?]/g, '\\$&')}: 2 entries, fetched \\d{4}-\\d\\d-\\d\\dT[^ ]+Z \\(\\d+ s ago\\), last checked`, 'm'))

  const again = await runCommand(['lists', 'refresh', '--config', 'regguard.yaml'], { cwd: dir })
  t.match(again.stdout, /^not_modified .*disposable\.txt: not modified, 2 entries$/m, 'the cached ETag was sent')
  t.ok(lists.requestsFor('/disposable.txt').some((r) => r.ifNoneMatch === '"d1"'))

  lists.serve('/friends.txt', { status: 500 })
  const failed = await runCommand(['lists', 'refresh', '--config', 'regguard.yaml'], { cwd: dir })
  t.equal(failed.code, 3, 'a failed fetch: exit 3 (1 means deny)')
  t.match(failed.stdout, /^error .*friends\.txt: HTTP 500; 1 entries kept$/m)
  const status = await runCommand(['lists', 'status', '--config', 'regguard.yaml'], { cwd: dir })
  t.match(status.stdout, /^whitelist .*friends\.txt: 1 entries, fetched .*, last refresh failed at .*: HTTP 500$/m, 'the failure is remembered in the cache directory')
})

t.test('policy check: cached lists, mail-server rules, --no-dns', async (t) => {
  const { lists, dns, dir } = await fixture(t)
  const check = (...args: string[]) => runCommand(['policy', 'check', '--config', 'regguard.yaml', ...args], { cwd: dir })
  const uncached = await check('email', 'a@mailinator.com', '--no-dns')
  t.match(uncached.stderr, /note: .*disposable\.txt has no cached copy/)
  t.equal(uncached.code, 0, 'no copy: the list cannot deny yet')
  t.equal((await runCommand(['lists', 'refresh', '--config', 'regguard.yaml'], { cwd: dir })).code, 0)
  const fetches = lists.requests.length

  const cases: Array<[string[], number, string]> = [
    [['email', 'a@mailinator.com'], 1, `deny email a@mailinator.com: denied by blacklist domain mailinator.com (list ${lists.url('/disposable.txt')})\n`],
    [['email', 'a@friends.example'], 1, 'deny email a@friends.example: denied by mx.require: friends.example cannot receive mail: no such domain\n'],
    [['email', 'a@nullmx.example'], 1, 'deny email a@nullmx.example: denied by mx.require: nullmx.example cannot receive mail: null MX (RFC 7505)\n'],
    [['email', 'a@custom.example'], 1, 'deny email a@custom.example: denied by blacklist mx mx1.mailinator.com (*mailinator.com)\n'],
    [['email', 'a@broken.example'], 1, 'deny email a@broken.example: denied by mx.on_error (deny): mail servers could not be looked up: SERVFAIL from ' + dns.address + '\n'],
    [['email', 'a@good.example'], 0, 'allow email a@good.example: allowed by default (allowed: true)\n'],
    [['--no-dns', 'email', 'a@nullmx.example'], 0, 'allow email a@nullmx.example: allowed by default (allowed: true) (mail-server rules not checked: --no-dns)\n'],
    [['--no-dns', 'email', 'a@mailinator.com'], 1, `deny email a@mailinator.com: denied by blacklist domain mailinator.com (list ${lists.url('/disposable.txt')})\n`]
  ]
  const queriesBefore = dns.queries.length
  const results = await Promise.all(cases.map(([args]) => check(...args)))
  for (const [i, [args, code, out]] of cases.entries()) {
    const r = results[i] as Awaited<ReturnType<typeof check>>
    t.equal(r.stdout, out, args.join(' '))
    t.equal(r.code, code, `${args.join(' ')} exit code (${r.stderr})`)
  }
  t.equal(lists.requests.length, fetches, 'policy check fetches no list')
  t.equal(dns.queriesFor('nullmx.example').length, 1, '--no-dns asked nothing')
  t.equal(dns.queriesFor('mailinator.com').length, 0, 'a domain the lists deny is never looked up')
  t.ok(dns.queries.length > queriesBefore)

  const misuse = await runCommand(['check-config', '--config', 'regguard.yaml', '--no-dns'], { cwd: dir })
  t.equal(misuse.code, 2)
  t.match(misuse.stderr, /--no-dns belongs to policy check/)
})
