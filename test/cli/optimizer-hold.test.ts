import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { holdOptimizingCompilers } from '../../src/cli/optimizer-hold.js'

// Maglev and TurboFan are off through start-up (idle RSS) and on again once the command has
// started (serving needs them).

const MODULE = fileURLToPath(new URL('../../src/cli/optimizer-hold.ts', import.meta.url))

t.test('held: a hot function stays unoptimized; released: it is optimized (a fresh process)', async (t) => {
  // %GetOptimizationStatus: bit 4 is "optimized" (by Maglev or TurboFan)
  const script = `import { holdOptimizingCompilers } from ${JSON.stringify(MODULE)}
const hot = (n) => { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s }
const spin = () => { const t = Date.now(); while (Date.now() - t < 400) hot(1000) }
const optimized = () => (%GetOptimizationStatus(hot) & 16) !== 0
const release = holdOptimizingCompilers({}, [])
spin()
const held = optimized()
release()
spin()
console.log(JSON.stringify({ held, released: optimized() }))`
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 })
  t.equal(r.status, 0, r.stderr)
  const { held, released } = JSON.parse(r.stdout) as { held: boolean, released: boolean }
  t.equal(held, false, 'not optimized while held')
  t.equal(released, true, 'optimized once released')
})

t.test('V8 flags: both tiers off, then on, once; an operator\'s compiler flags and other architectures are left alone', async (t) => {
  const set: string[] = []
  const release = holdOptimizingCompilers({}, [], (f) => { set.push(f) }, 'x64')
  t.same(set, ['--no-maglev --no-turbofan'])
  release()
  release()
  t.same(set, ['--no-maglev --no-turbofan', '--maglev --turbofan'])
  const arm: string[] = []
  holdOptimizingCompilers({}, [], (f) => { arm.push(f) }, 'arm64')()
  t.same(arm, ['--no-maglev --no-turbofan', '--maglev --turbofan'])
  const cases: Array<[Record<string, string>, string[], string]> = [
    [{ NODE_OPTIONS: '--no-maglev' }, [], 'x64'],
    [{}, ['--max-opt=2'], 'x64'],
    [{}, ['--jitless'], 'x64'],
    [{ NODE_OPTIONS: '--no-opt' }, [], 'x64'],
    [{}, ['--turbofan'], 'x64'],
    [{}, [], 's390x']
  ]
  for (const [env, argv, arch] of cases) {
    const none: string[] = []
    holdOptimizingCompilers(env, argv, (f) => { none.push(f) }, arch)()
    t.same(none, [], JSON.stringify({ env, argv, arch }))
  }
})
