import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { canonicalEmail } from '../../src/synapse/canonical.js'
import { decide } from '../../src/policy/policy.js'

// *_files: one entry a line, "#" comments and blank lines ignored, paths relative to the config
// file (not to the working directory).

const BLACK = [
  '# disposable domains',
  '',
  'mailinator.com',
  '   *trash.example   # with a trailing comment',
  '\t.sub-only.example\r',
  '# evil.example is commented out',
  'ＢÜＣＨＥＲ.de.'
].join('\n')

t.test('list files next to the config file are read, relative to it', async (t) => {
  const dir = t.testdir({
    'etc': {
      'regguard.yaml': [
        'register:',
        '  policy:',
        '    allowed: true',
        '    threepid:',
        '      email:',
        '        domain:',
        '          blacklist_files: [lists/black.txt]',
        '          whitelist_files: [lists/white.txt]',
        '          blacklist: [inline.example]'
      ].join('\n'),
      lists: { 'black.txt': BLACK, 'white.txt': '# staff only\n*staff.trash.example\n' }
    }
  })
  const cwd = process.cwd()
  process.chdir(dir) // a path resolved against the working directory would miss the files
  t.teardown(() => process.chdir(cwd))
  const cfg = loadConfig({ file: 'etc/regguard.yaml', env: {} })
  const verdict = (email: string): string => {
    const c = canonicalEmail(email)
    if (!c.ok) throw new Error(c.reason)
    const d = decide(cfg.policy, 'email', c.address)
    return `${d.allowed ? 'allow' : 'deny'} ${d.rule} ${d.detail}`
  }
  t.equal(verdict('a@mailinator.com'), `deny blacklist domain mailinator.com (file ${join(dir, 'etc/lists/black.txt')})`, 'the file is named')
  t.equal(verdict('a@trash.example'), `deny blacklist domain *trash.example (file ${join(dir, 'etc/lists/black.txt')})`)
  t.equal(verdict('a@x.trash.example'), `deny blacklist domain *trash.example (file ${join(dir, 'etc/lists/black.txt')})`, 'as written, not .trash.example')
  t.equal(verdict('a@sub-only.example'), 'allow default allowed: true', '.entry: not the domain itself')
  t.equal(verdict('a@x.sub-only.example'), `deny blacklist domain .sub-only.example (file ${join(dir, 'etc/lists/black.txt')})`, 'a CR at the end of the line is whitespace')
  t.equal(verdict('a@evil.example'), 'allow default allowed: true', 'commented-out entry')
  t.equal(verdict('a@bücher.de'), `deny blacklist domain xn--bcher-kva.de (file ${join(dir, 'etc/lists/black.txt')})`, 'file entries are canonicalised like addresses')
  t.equal(verdict('a@inline.example'), 'deny blacklist domain inline.example', 'inline entries still apply')
  t.equal(verdict('a@staff.trash.example'), `deny blacklist domain *trash.example (file ${join(dir, 'etc/lists/black.txt')})`, 'blacklist before whitelist')
  t.equal(cfg.policy.email.blacklist.domains.size, 6, 'exact + parent entries: *trash.example counts twice')
  t.same(cfg.policy.email.blacklist.domainSources, ['register.policy.threepid.email.domain.blacklist', join(dir, 'etc/lists/black.txt')])
})

t.test('without a config file, list paths are relative to baseDir', async (t) => {
  const dir = t.testdir({ 'white.txt': 'example.org\n' })
  const cfg = loadConfig({ object: { register: { policy: { threepid: { email: { domain: { whitelist_files: ['white.txt'] } } } } } }, baseDir: dir, env: {} })
  t.equal(decide(cfg.policy, 'email', 'a@example.org').rule, 'whitelist')
  t.equal(decide(cfg.policy, 'email', 'a@other.org').rule, 'default')
})

t.test('the doc layout reads list files too', async (t) => {
  const dir = t.testdir({ 'black.txt': 'evil.example\n' })
  const file = join(dir, 'c.json')
  writeFileSync(file, JSON.stringify({ register: { allowed: true, threepid: { email: { domain: { blacklist_files: ['black.txt'] } } } } }))
  const cfg = loadConfig({ file, env: {} })
  t.equal(decide(cfg.policy, 'email', 'a@evil.example').allowed, false)
  t.equal(decide(cfg.policy, 'email', 'a@good.example').allowed, true)
})
