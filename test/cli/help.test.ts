import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { HELP } from '../../src/cli/usage.js'
import { runCommand } from '../helpers/cli-process.js'

// The command's own help, its version, its usage errors (one line and a hint, exit 2) and its
// refusal to run on silent defaults.

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

t.test('--version and -V print the package version', async (t) => {
  for (const flag of ['--version', '-V']) {
    const r = await runCommand([flag])
    t.equal(r.code, 0)
    t.equal(r.stdout, `regguard ${pkg.version}\n`)
    t.equal(r.stderr, '')
  }
})

t.test('help, and help COMMAND = COMMAND --help: each command its own usage with an example', async (t) => {
  const all = await runCommand(['help'])
  t.equal(all.code, 0)
  t.match(all.stdout, /^usage:\n {2}regguard \[serve\] --config FILE/)
  t.match(all.stdout, /exit status: 0 success or allow, 1 deny/)
  t.equal((await runCommand(['--help'])).stdout, all.stdout, '--help alone is the overview')
  const texts = new Set<string>()
  for (const name of Object.keys(HELP)) {
    const viaHelp = await runCommand(['help', name])
    const viaFlag = await runCommand([name, '--help'])
    t.equal(viaHelp.code, 0, name)
    t.equal(viaFlag.code, 0, name)
    t.equal(viaFlag.stdout, viaHelp.stdout, `${name} --help = help ${name}`)
    t.match(viaHelp.stdout, new RegExp(`^usage: regguard ${name === 'serve' ? '\\[serve\\]' : name}`), name)
    t.match(viaHelp.stdout, /\nexamples?:\n {2}regguard /, `${name} has an example`)
    t.ok(all.stdout.includes(`  ${name} `), `the overview names ${name}`)
    texts.add(viaHelp.stdout)
  }
  t.equal(texts.size, Object.keys(HELP).length, 'no two commands share one text')
  const sub = await runCommand(['invites', 'add', '--help'])
  t.equal(sub.stdout, HELP.invites?.text, 'a subcommand --help: its command\'s usage')
  const unknown = await runCommand(['help', 'frobnicate'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /^regguard: no help for "frobnicate" \(commands: serve, check-config, /)
})

t.test('a usage error: one line, the hint to the command\'s usage, exit 2', async (t) => {
  const dir = t.testdir({ 'x.yaml': `storage: { url: "sqlite://${join(t.testdirName, 'rg.sqlite')}" }\n` })
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /^regguard: unknown command frobnicate\nsee: regguard help\n$/],
    [['invites', 'frob', '--config', 'x.yaml'], /^regguard: .*\nsee: regguard invites --help\n$/],
    [['lists', '--config', 'x.yaml'], /^regguard: lists needs: status or refresh\nsee: regguard lists --help\n$/],
    [['config', 'frob'], /^regguard: config needs: sample\nsee: regguard config --help\n$/],
    [['check-config', '--no-such-flag'], /^regguard: Unknown option '--no-such-flag'.*\nsee: regguard check-config --help\n$/],
    [['policy', 'check', '--config', 'x.yaml', '--limit', '3', 'email', 'a@b.example'], /^regguard: --medium, --address, --limit and --from belong to invites list\nsee: regguard policy --help\n$/]
  ]
  for (const [args, expected] of cases) {
    const r = await runCommand(args, { cwd: dir })
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, expected, args.join(' '))
    t.equal(r.stdout, '', args.join(' '))
  }
})

t.test('serve, check-config, policy check and the store commands refuse to run without a configuration', async (t) => {
  const dir = t.testdir({})
  for (const args of [['serve'], [], ['check-config'], ['policy', 'check', 'email', 'a@example.org'], ['invites', 'list'], ['lists', 'status'], ['export', 'mas-policy']]) {
    const r = await runCommand(args, { cwd: dir })
    t.equal(r.code, 2, args.join(' ') || '(no arguments)')
    t.match(r.stderr, /needs a configuration: --config FILE or REGGUARD_CONFIG=FILE/, 'names both ways')
    t.equal(r.stdout, '')
  }
  t.notOk(existsSync(join(dir, 'data')), 'nothing created in the working directory (no ./data)')
  const empty = await runCommand(['check-config'], { cwd: dir, env: { REGGUARD_CONFIG: '' } })
  t.equal(empty.code, 2, 'an empty REGGUARD_CONFIG names no file')
})
