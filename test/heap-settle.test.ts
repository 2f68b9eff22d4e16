import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// In a process started without --expose-gc (as the CLI is), as tests run with it.
const MODULE = fileURLToPath(new URL('../src/heap-settle.ts', import.meta.url))

t.test('after start-up allocation, the collection shrinks the young generation and leaves gc() unexposed', async (t) => {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8'
    import { settleHeapSoon } from ${JSON.stringify(MODULE)}
    const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size
    // survivors, as module loading makes: V8 grows the young generation
    const keep = []
    for (let i = 0; i < 400000; i++) keep.push({ i, s: 'x' + i })
    const before = newSpace()
    settleHeapSoon(0)
    setTimeout(() => { console.log(JSON.stringify({ before, after: newSpace(), gcExposed: typeof globalThis.gc, kept: keep.length })) }, 100)
  `
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 })
  t.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout) as { before: number, after: number, gcExposed: string, kept: number }
  t.ok(out.before > 4 * 2 ** 20, `young generation grew first (${out.before} bytes)`)
  t.ok(out.after < out.before / 2, `and was shrunk (${out.before} -> ${out.after} bytes)`)
  t.equal(out.gcExposed, 'undefined', 'no global gc() left behind')
  t.equal(out.kept, 400000)
})
