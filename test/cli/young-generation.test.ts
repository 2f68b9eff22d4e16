import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { run } from '../../src/cli/main.js'
import { holdYoungGeneration } from '../../src/cli/young-generation.js'

// The young generation is held at its size through start-up (idle RSS) and grows again once the
// command has started (serving needs it).

const MODULE = fileURLToPath(new URL('../../src/cli/young-generation.ts', import.meta.url))

t.test('held: survivors do not grow it; released: they do (a fresh process)', async (t) => {
  const script = `import { getHeapSpaceStatistics } from 'node:v8'
import { holdYoungGeneration } from ${JSON.stringify(MODULE)}
const size = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size
const kept = []
const survive = () => { for (let i = 0; i < 400000; i++) kept.push({ i, s: 'x' + i }) }
const release = holdYoungGeneration({}, [])
const before = size()
survive()
const held = size()
release()
survive()
console.log(JSON.stringify({ before, held, after: size() }))`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 })
  t.equal(r.status, 0, r.stderr)
  const { before, held, after } = JSON.parse(r.stdout) as { before: number, held: number, after: number }
  t.equal(held, before, `held at ${before} bytes`)
  t.ok(after > held, `grew to ${after} bytes once released`)
})

t.test('V8 flags: held, then growth by 4, once; an operator\'s own semi-space flags are left alone', async (t) => {
  const set: string[] = []
  const release = holdYoungGeneration({}, [], (f) => { set.push(f) })
  t.same(set, ['--semi-space-growth-factor=1'])
  release()
  release()
  t.same(set, ['--semi-space-growth-factor=1', '--semi-space-growth-factor=4'])
  for (const [env, argv] of [[{ NODE_OPTIONS: '--max-semi-space-size=8' }, []], [{}, ['--min_semi_space_size=4']]] as const) {
    const none: string[] = []
    holdYoungGeneration(env, argv, (f) => { none.push(f) })()
    t.same(none, [], JSON.stringify({ env, argv }))
  }
})

t.test('a command other than serve is started at once', async (t) => {
  let started = 0
  t.equal(await run(['check-config'], { out: () => {}, err: () => {}, env: {}, started: () => { started++ } }), 0)
  t.equal(started, 1)
})
