import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'

// One parser (YAML 1.2, a superset of JSON) reads both; the extension does not matter.

const settings = { server: { port: 9100 }, homeserver: { url: 'http://127.0.0.1:18008', server_name: 'example.org' }, register: { policy: { allowed: true, threepid: { email: { domain: { blacklist: ['evil.example'] } } } } } }

t.test('the same settings as YAML and as JSON load alike', async (t) => {
  const dir = t.testdir({})
  const yaml = [
    '# comments are allowed in YAML',
    'server:',
    '  port: 9100',
    'homeserver:',
    '  url: http://127.0.0.1:18008',
    '  server_name: example.org',
    'register:',
    '  policy:',
    '    allowed: true',
    '    threepid:',
    '      email:',
    '        domain:',
    '          blacklist:',
    '            - evil.example'
  ].join('\n')
  writeFileSync(join(dir, 'c.yaml'), yaml)
  writeFileSync(join(dir, 'c.json'), JSON.stringify(settings, null, 2))
  writeFileSync(join(dir, 'c.conf'), JSON.stringify(settings))
  const fromYaml = loadConfig({ file: join(dir, 'c.yaml'), env: {} })
  const fromJson = loadConfig({ file: join(dir, 'c.json'), env: {} })
  const noExt = loadConfig({ file: join(dir, 'c.conf'), env: {} })
  t.same(fromYaml.settings, fromJson.settings)
  t.same(noExt.settings, fromJson.settings)
  t.equal(fromJson.settings.server.port, 9100)
  t.equal(fromJson.settings.homeserver.server_name, 'example.org')
  t.equal(fromYaml.file, join(dir, 'c.yaml'))
  t.ok(fromYaml.policy.email.blacklist.domains.match('evil.example'))
})

t.test('an empty file is all defaults', async (t) => {
  const dir = t.testdir({ 'empty.yaml': '', 'comments.yaml': '# nothing\n' })
  t.equal(loadConfig({ file: join(dir, 'empty.yaml'), env: {} }).settings.server.port, 8090)
  t.equal(loadConfig({ file: join(dir, 'comments.yaml'), env: {} }).settings.homeserver.url, 'http://127.0.0.1:8008')
})

t.test('defaults of the contract keys', async (t) => {
  const s = loadConfig({ env: {} }).settings
  t.equal(s.server.host, '127.0.0.1')
  t.equal(s.server.port, 8090)
  t.equal(s.homeserver.url, 'http://127.0.0.1:8008')
  t.equal(s.admin.host, '127.0.0.1')
  t.equal(s.admin.port, 8091)
  t.equal(s.register.policy.allowed, false)
  t.equal(s.register.policy.invite, true)
})
