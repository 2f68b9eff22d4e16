import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { tempDir } from '../store/backends.js'
import { asInstalled } from '../helpers/cli-path.js'

// `regguard serve` with a store it cannot open stops at start-up (exit 2) with one line that
// names storage.url and the reason, never listening. Runs dist/src/cli.js (`npm run build`).

t.setTimeout(120_000)

function serve (file: string): Promise<{ code: number | null, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...asInstalled(), 'serve', '--config', file], { timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr })
    })
  })
}

t.test('a file that is not a database, an unreachable PostgreSQL', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'garbage.sqlite'), 'this is not a database, it is a text file of some length to be sure\n'.repeat(100))
  const cases: Array<[string, RegExp]> = [
    [`sqlite://${join(dir, 'garbage.sqlite')}`, /file is not a database/],
    // port 1 on loopback: nothing listens there
    ['postgres://postgres:s3cret@127.0.0.1:1/test', /ECONNREFUSED/]
  ]
  for (const [url, reason] of cases) {
    const file = join(dir, 'regguard.yaml')
    writeFileSync(file, JSON.stringify({ server: { port: 0 }, admin: { port: 0 }, storage: { url } }))
    const r = await serve(file)
    t.equal(r.code, 2, url)
    const shown = url.replace(':s3cret@', ':***@')
    t.match(r.stderr, `regguard: cannot open the store at storage.url ${shown}: `)
    t.match(r.stderr, reason)
    t.notMatch(r.stderr, /s3cret/, 'the password is not shown')
  }
})
