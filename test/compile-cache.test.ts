import { spawnSync } from 'node:child_process'
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// Whoever can write the compile cache decides the code regguard runs: only a directory of this
// user's own, nobody else may write, is used. Each case in a fresh process with its own TMPDIR.

const MODULE = fileURLToPath(new URL('../src/compile-cache.ts', import.meta.url))
const uid = process.getuid?.() ?? 0

function enableIn (tmp: string): string | null {
  const script = `import { enableOwnCompileCache } from ${JSON.stringify(MODULE)}; console.log(JSON.stringify(enableOwnCompileCache({})))`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp }, timeout: 60_000 })
  if (r.status !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout) as string | null
}

function tmp (t: { teardown: (f: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'regguard-cc-test-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

t.test('no directory yet: one is made, 0700, and used', async (t) => {
  const d = tmp(t)
  const dir = join(d, `regguard-compile-cache-${uid}`)
  t.equal(enableIn(d), dir)
  const st = lstatSync(dir)
  t.equal(st.mode & 0o777, 0o700)
  t.equal(st.uid, uid)
})

t.test('a directory others may write: no cache', async (t) => {
  const d = tmp(t)
  const dir = join(d, `regguard-compile-cache-${uid}`)
  mkdirSync(dir)
  chmodSync(dir, 0o777)
  t.equal(enableIn(d), null)
})

t.test('a symbolic link in its place (to a directory of ours): no cache', async (t) => {
  const d = tmp(t)
  const target = join(d, 'elsewhere')
  mkdirSync(target, { mode: 0o700 })
  symlinkSync(target, join(d, `regguard-compile-cache-${uid}`))
  t.equal(enableIn(d), null)
})

t.test('NODE_DISABLE_COMPILE_CACHE=1: no cache', async (t) => {
  const d = tmp(t)
  const script = `import { enableOwnCompileCache } from ${JSON.stringify(MODULE)}; console.log(JSON.stringify(enableOwnCompileCache()))`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, TMPDIR: d, NODE_DISABLE_COMPILE_CACHE: '1' }, timeout: 60_000 })
  t.equal(r.stdout.trim(), 'null', r.stderr)
})
