import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PYTHON } from '../helpers/python.js'
import { RIG_DIR } from '../helpers/synapse.js'

// The Synapse module's own unit tests (synapse-module/tests, Twisted trial) on Debian's Python,
// importing the rig's Synapse 1.67 source for the module API they are written against.

const MODULE_DIR = fileURLToPath(new URL('../../synapse-module/', import.meta.url))
const SYNAPSE_SRC = join(RIG_DIR, 'src')

if (!existsSync(join(SYNAPSE_SRC, 'synapse', 'module_api', '__init__.py'))) {
  const why = `no Synapse source in ${SYNAPSE_SRC}: run bash .ci/install-synapse.sh`
  // CI sets the rig up (.ci/run): there, a missing rig is a failure, not a reason to skip
  if (process.env.CI === '1') t.fail(why)
  else t.plan(0, why)
} else {
  t.test('synapse-module/tests pass under twisted.trial', async (t) => {
    const temp = mkdtempSync(join(tmpdir(), 'regguard-trial-'))
    t.teardown(() => rmSync(temp, { recursive: true, force: true }))
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PYTHON')) env[k] = v
    const r = spawnSync(PYTHON, ['-m', 'twisted.trial', `--temp-directory=${join(temp, 'trial')}`, 'tests'], {
      cwd: MODULE_DIR,
      env: { ...env, PYTHONPATH: [SYNAPSE_SRC, join(RIG_DIR, 'pylib'), MODULE_DIR].join(':'), PYTHONNOUSERSITE: '1', PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024
    })
    const out = `${r.stdout}\n${r.stderr}`
    t.equal(r.status, 0, 'trial exits 0', { output: out.slice(-8000) })
    const passed = /PASSED \(successes=(\d+)\)/.exec(out)
    t.ok(passed !== null && Number(passed[1]) >= 10, `trial reports its successes (${passed?.[1] ?? 'none'})`, { output: out.slice(-8000) })
    for (const name of ['test_registration_errors_deny_by_default', 'test_timeout', 'test_regguard_down', 'test_invite_allowed_and_denied']) {
      t.match(out, new RegExp(`${name} \\.\\.\\.[\\s\\S]*?\\[OK\\]`), `${name} ran and passed`)
    }
  })
}
