import { join } from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/load.js'

// A list that cannot be read, or that holds something that is not a domain, stops start-up:
// an empty blacklist would silently let everyone in.

const withFiles = (key: 'blacklist_files' | 'whitelist_files', files: string[]): unknown => ({
  register: { policy: { threepid: { email: { domain: { [key]: files } } } } }
})

t.test('a missing file names the key, its index and the path', async (t) => {
  const dir = t.testdir({ 'ok.txt': 'a.example\n' })
  const err = t.throws(() => loadConfig({ object: withFiles('blacklist_files', ['ok.txt', 'missing.txt']), baseDir: dir, env: {} })) as ConfigError
  t.type(err, ConfigError)
  t.equal(err.key, 'register.policy.threepid.email.domain.blacklist_files[1]')
  t.match(err.message, 'register.policy.threepid.email.domain.blacklist_files[1]')
  t.match(err.message, join(dir, 'missing.txt'))
  t.match(err.message, 'ENOENT')
})

t.test('a directory is not a list file', async (t) => {
  const dir = t.testdir({ sub: {} })
  const err = t.throws(() => loadConfig({ object: withFiles('whitelist_files', ['sub']), baseDir: dir, env: {} })) as ConfigError
  t.equal(err.key, 'register.policy.threepid.email.domain.whitelist_files[0]')
  t.match(err.message, 'EISDIR')
})

t.test('an invalid entry names the key and file:line', async (t) => {
  const dir = t.testdir({ 'black.txt': '# header\n\ngood.example\nnot a domain\n' })
  const err = t.throws(() => loadConfig({ object: withFiles('blacklist_files', ['black.txt']), baseDir: dir, env: {} })) as ConfigError
  t.equal(err.key, 'register.policy.threepid.email.domain.blacklist_files[0]')
  t.match(err.message, `${join(dir, 'black.txt')}:4: "not a domain" is not a domain`)
})

t.test('entries that would silently never match are refused', async (t) => {
  for (const bad of ['user@example.org', 'example..org', 'http://example.org/', 'ex*ample.org', 'example.org/path']) {
    const dir = t.testdir({ 'black.txt': `ok.example\n${bad}\n` })
    const err = t.throws(() => loadConfig({ object: withFiles('blacklist_files', ['black.txt']), baseDir: dir, env: {} }), bad) as ConfigError
    t.match(err.message, `black.txt:2:`, bad)
  }
})

t.test('an invalid inline entry names its key and index', async (t) => {
  const err = t.throws(() => loadConfig({ object: { register: { policy: { threepid: { email: { domain: { whitelist: ['ok.example', 'bad entry'] } } } } } }, env: {} })) as ConfigError
  t.equal(err.key, 'register.policy.threepid.email.domain.whitelist[1]')
  t.match(err.message, '"bad entry" is not a domain')
})
