import { execFile } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { sampleConfig } from '../../src/config/sample.js'
import { asInstalled, CLI } from '../helpers/cli-path.js'

// `regguard config sample` prints the sample generated from the schema; what it prints loads.

t.test('config sample prints sampleConfig() and exits 0', async (t) => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`)
  const { code, stdout, stderr } = await new Promise<{ code: number, stdout: string, stderr: string }>((resolve) => {
    execFile(process.execPath, [...asInstalled(), 'config', 'sample'], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr })
    })
  })
  t.equal(code, 0, stderr)
  t.equal(stdout, sampleConfig(), 'dist/ is built from the current schema (run npm run build if not)')
  const dir = t.testdir({})
  writeFileSync(join(dir, 'sample.yaml'), stdout)
  t.equal(loadConfig({ file: join(dir, 'sample.yaml'), env: {} }).settings.server.port, 8090, 'the printed sample loads')
})
