import { execFile } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { tempDir } from '../store/backends.js'
import { asInstalled } from '../helpers/cli-path.js'

// `regguard policy check` only reads: with no SQLite file yet there are no invites, and asking
// must not create the file (or its directory). Runs dist/src/cli.js (`npm run build`).

t.setTimeout(60_000)

t.test('no store file: decided by the lists, nothing created', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, JSON.stringify({ register: { policy: { allowed: false } } }))
  const r = await new Promise<{ code: number, stdout: string }>((resolve) => {
    // the default storage.url is relative to the working directory
    execFile(process.execPath, [...asInstalled(), 'policy', 'check', '--config', file, 'email', 'a@example.org'], { cwd: dir, timeout: 30_000 }, (err, stdout) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout })
    })
  })
  t.equal(r.code, 1)
  t.equal(r.stdout, 'deny email a@example.org: denied by default (allowed: false)\n')
  t.notOk(existsSync(join(dir, 'data')), 'no ./data directory')
})
