import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runCommand } from '../helpers/cli-process.js'
import { CLI } from '../helpers/cli-path.js'

// `regguard check-config`: the built command (dist/, made by `npm ci` through `prepare`).

const run = runCommand

t.before(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`)
})

t.test('a good file: exit 0', async (t) => {
  const dir = t.testdir({ 'good.yaml': 'server:\n  port: 9000\nregister:\n  policy:\n    threepid:\n      email:\n        domain:\n          whitelist: ["*example.org"]\n' })
  const r = await run(['check-config', '--config', 'good.yaml'], { cwd: dir })
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, `configuration ${join(dir, 'good.yaml')} is valid\n`)
  t.equal(r.stderr, '')
})

t.test('a bad file: non-zero, the key named on stderr', async (t) => {
  const dir = t.testdir({
    'port.yaml': 'server:\n  port: 70000\n',
    'unknown.yaml': 'register:\n  polcy:\n    allowed: true\n',
    'regex.json': JSON.stringify({ register: { policy: { threepid: { email: { pattern: { blacklist: ['(x'] } } } } } }),
    'conflict.yaml': 'register:\n  allowed: true\n  policy:\n    allowed: false\n',
    'list.yaml': 'register:\n  policy:\n    threepid:\n      email:\n        domain:\n          blacklist_files: [missing.txt]\n',
    'boolean.yaml': 'register:\n  policy:\n    allowed: maybe\n'
  })
  const cases: Array<[string, RegExp]> = [
    ['port.yaml', /server\.port/],
    ['unknown.yaml', /register\.polcy/],
    ['regex.json', /register\.policy\.threepid\.email\.pattern\.blacklist\[0\]/],
    ['conflict.yaml', /register\.allowed.*register\.policy\.allowed/],
    ['list.yaml', /register\.policy\.threepid\.email\.domain\.blacklist_files\[0\].*missing\.txt/],
    ['boolean.yaml', /register\.policy\.allowed/]
  ]
  // concurrently: each run starts a node process, and the file's time limit counts them all
  const results = await Promise.all(cases.map(([file]) => run(['check-config', '--config', file], { cwd: dir })))
  for (const [i, [file, key]] of cases.entries()) {
    const r = results[i] as Awaited<ReturnType<typeof run>>
    t.not(r.code, 0, `${file} fails`)
    t.match(r.stderr, key, `${file} names the key`)
    t.equal(r.stdout, '', `${file} prints nothing on stdout`)
  }
})

t.test('a missing config file', async (t) => {
  const dir = t.testdir({})
  const r = await run(['check-config', '--config', 'nope.yaml'], { cwd: dir })
  t.not(r.code, 0)
  t.match(r.stderr, /nope\.yaml.*ENOENT/)
})

t.test('REGGUARD_CONFIG works instead of --config', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'homeserver:\n  url: http://127.0.0.1:8008/path\n', 'good.yaml': 'server:\n  port: 9001\n' })
  const good = await run(['check-config'], { cwd: dir, env: { REGGUARD_CONFIG: join(dir, 'good.yaml') } })
  t.equal(good.code, 0, good.stderr)
  t.match(good.stdout, join(dir, 'good.yaml'))
  const bad = await run(['check-config'], { cwd: dir, env: { REGGUARD_CONFIG: join(dir, 'bad.yaml') } })
  t.not(bad.code, 0)
  t.match(bad.stderr, /homeserver\.url/)
  const flagWins = await run(['check-config', '--config', 'good.yaml'], { cwd: dir, env: { REGGUARD_CONFIG: join(dir, 'bad.yaml') } })
  t.equal(flagWins.code, 0, '--config wins over REGGUARD_CONFIG')
})

t.test('environment overrides are checked too', async (t) => {
  const dir = t.testdir({ 'good.yaml': 'server:\n  port: 9002\n' })
  const r = await run(['check-config', '--config', 'good.yaml'], { cwd: dir, env: { REGGUARD_ADMIN_PORT: '99999' } })
  t.not(r.code, 0)
  t.match(r.stderr, /admin\.port/)
})
