import { readFileSync } from 'node:fs'
import t from 'tap'
import { runCommand } from '../helpers/cli-process.js'

// Every command's exit status as docs/cli.md's table says: 0 success or allow, 1 deny (policy
// check only), 2 usage, configuration or store, 3 rejected input, not found or another failure.

t.setTimeout(120_000)

t.test('docs/cli.md\'s table names exactly these statuses', async (t) => {
  const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8')
  const table = /<!-- exit-codes:start -->([\s\S]*?)<!-- exit-codes:end -->/.exec(doc)?.[1] ?? ''
  t.same([...table.matchAll(/^\| (\d) \|/gm)].map((m) => Number(m[1])), [0, 1, 2, 3])
})

t.test('each command, each status it can end with', async (t) => {
  const dir = t.testdir({
    'ok.yaml': [
      'storage: { url: "sqlite://./rg.sqlite" }',
      'lists: { cache_dir: ./cache, timeout_ms: 1000 }',
      'register: { policy: { allowed: false, threepid: { email: { domain: { whitelist: ["*example.org"] } } } } }'
    ].join('\n') + '\n',
    'bad.yaml': 'server:\n  port: 70000\n',
    // nothing listens on port 1: the store cannot be opened
    'nostore.yaml': 'storage: { url: "postgres://regguard@127.0.0.1:1/none" }\n',
    'deadlist.yaml': [
      'lists: { cache_dir: ./cache2, timeout_ms: 1000 }',
      'register: { policy: { threepid: { email: { domain: { blacklist_urls: ["http://127.0.0.1:1/list.txt"] } } } } }'
    ].join('\n') + '\n',
    'bad.csv': 'email,broken-address\n'
  })
  const id = /^added invite (\d+)/.exec((await runCommand(['invites', 'add', '-c', 'ok.yaml', 'email', 'kept@example.org'], { cwd: dir })).stdout)?.[1] as string
  t.ok(id, 'an invite to revoke')
  const cases: Array<[number, string[]]> = [
    [0, ['check-config', '-c', 'ok.yaml']],
    [2, ['check-config', '-c', 'bad.yaml']],
    [2, ['check-config', '-c', 'missing.yaml']],
    [2, ['check-config']],
    [0, ['policy', 'check', '-c', 'ok.yaml', 'email', 'a@sub.example.org']],
    [1, ['policy', 'check', '-c', 'ok.yaml', 'email', 'a@elsewhere.example']],
    [2, ['policy', 'check', '-c', 'ok.yaml', 'fax', '123']],
    [2, ['policy', 'check', '-c', 'bad.yaml', 'email', 'a@example.org']],
    [3, ['policy', 'check', '-c', 'ok.yaml', 'email', 'a@b@example.org']],
    [0, ['invites', 'add', '-c', 'ok.yaml', 'email', 'kept@example.org']],
    [2, ['invites', 'add', '-c', 'ok.yaml', 'fax', 'x']],
    [2, ['invites', 'add', '-c', 'nostore.yaml', 'email', 'a@example.org']],
    [3, ['invites', 'add', '-c', 'ok.yaml', 'email', 'not-an-address']],
    [0, ['invites', 'list', '-c', 'ok.yaml']],
    [2, ['invites', 'list', '-c', 'ok.yaml', '--limit', '0']],
    [0, ['invites', 'revoke', '-c', 'ok.yaml', id]],
    [3, ['invites', 'revoke', '-c', 'ok.yaml', id]],
    [3, ['invites', 'revoke', '-c', 'ok.yaml', '999999']],
    [2, ['invites', 'revoke', '-c', 'ok.yaml']],
    [3, ['invites', 'import', '-c', 'ok.yaml', 'bad.csv']],
    [3, ['invites', 'import', '-c', 'ok.yaml', 'missing.csv']],
    [0, ['lists', 'status', '-c', 'ok.yaml']],
    [3, ['lists', 'refresh', '-c', 'deadlist.yaml']],
    [2, ['lists', 'frob', '-c', 'ok.yaml']],
    [0, ['export', 'mas-policy', '-c', 'ok.yaml']],
    [2, ['export', 'frob', '-c', 'ok.yaml']],
    [0, ['config', 'sample']],
    [2, ['config', 'frob']],
    [2, ['serve']],
    [0, ['help']],
    [0, ['--version']],
    [2, ['frobnicate']]
  ]
  for (const [code, args] of cases) {
    const r = await runCommand(args, { cwd: dir })
    t.equal(r.code, code, `${args.join(' ')}: ${r.stderr.split('\n')[0] ?? ''}`)
    if (code >= 2) t.match(r.stderr, /^regguard: /, `${args.join(' ')} says why on stderr`)
  }
})
