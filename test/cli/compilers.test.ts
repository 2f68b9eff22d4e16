import { readFileSync } from 'node:fs'
import t from 'tap'
import { holdCompilers, LAUNCH_FLAGS, launchedHeld, type Launch } from '../../src/cli/compilers.js'
import { shebangFlags } from '../../src/cli/as-installed.js'
import { CLI } from '../helpers/cli-path.js'

// The optimizing compilers are off through start-up and on once the command has started: from
// node's first instruction when the shebang starts it, from the first statement when it is run as
// `node cli.js`; an operator's own compiler flags win either way (test/cli/entry.test.ts shows
// what V8 then does).

function hold (launch: Partial<Launch>): { set: string[], release: () => void } {
  const set: string[] = []
  const release = holdCompilers({ env: {}, execArgv: [], arch: 'x64', setFlags: (f) => { set.push(f) }, ...launch })
  return { set, release }
}

t.test('the command\'s shebang carries exactly the flags the command takes for its own', async (t) => {
  t.match(readFileSync(CLI, 'utf8').split('\n')[0], /^#!\/usr\/bin\/env -S node /)
  t.same(shebangFlags(CLI), LAUNCH_FLAGS)
  t.ok(launchedHeld([...LAUNCH_FLAGS, '--trace-opt']))
  t.notOk(launchedHeld(['--trace-opt', ...LAUNCH_FLAGS]), 'only as the first flags, where the shebang puts them')
})

t.test('started by the shebang: nothing to set until released, then both tiers on, once', async (t) => {
  const { set, release } = hold({ execArgv: [...LAUNCH_FLAGS, '--trace-opt'] })
  t.same(set, [])
  release()
  release()
  t.same(set, ['--maglev --turbofan'])
})

t.test('run as `node cli.js`: held by the first statement, released once', async (t) => {
  const { set, release } = hold({ execArgv: ['--trace-opt', '--max-old-space-size=512'] })
  t.same(set, ['--no-maglev --no-turbofan'])
  release()
  release()
  t.same(set, ['--no-maglev --no-turbofan', '--maglev --turbofan'])
})

t.test('an operator\'s compiler flags are left alone', async (t) => {
  for (const execArgv of [['--no-maglev'], ['--no-maglev', '--no-turbofan'], ['--jitless'], ['--max-opt=2'], ['--no-opt']]) {
    const { set, release } = hold({ execArgv })
    release()
    t.same(set, [], `node ${execArgv.join(' ')} cli.js`)
  }
  const viaEnv = hold({ env: { NODE_OPTIONS: '--max-old-space-size=512 --jitless' } })
  viaEnv.release()
  t.same(viaEnv.set, [], 'NODE_OPTIONS=--jitless')
})

t.test('started by the shebang with an operator\'s compiler flags: ours undone at once, theirs applied after', async (t) => {
  const inArgs = hold({ execArgv: [...LAUNCH_FLAGS, '--no-maglev'] })
  inArgs.release()
  t.same(inArgs.set, ['--maglev --turbofan --no-maglev'])
  const inEnv = hold({ execArgv: [...LAUNCH_FLAGS], env: { NODE_OPTIONS: '--jitless' } })
  inEnv.release()
  t.same(inEnv.set, ['--maglev --turbofan --jitless'])
})

t.test('architectures without Maglev: not held; the shebang\'s TurboFan flag undone at once', async (t) => {
  const plain = hold({ arch: 's390x' })
  plain.release()
  t.same(plain.set, [])
  const launched = hold({ arch: 's390x', execArgv: [...LAUNCH_FLAGS] })
  launched.release()
  t.same(launched.set, ['--turbofan'])
})
