import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'

// The differential tests' oracles run on Debian's Python (/usr/bin/python3 with Debian's
// python3-twisted and python3-phonenumbers), whatever python3 comes first on PATH: a pyenv or
// venv Python has another Unicode database and none of those packages.

export const PYTHON = '/usr/bin/python3'

/** Runs a Python script on /usr/bin/python3 with `input` as JSON on stdin; its stdout as JSON. */
export function python<T> (script: string, input: unknown): T {
  // cwd away from any package directory, so the stdlib's modules are the ones imported
  const r = spawnSync(PYTHON, ['-c', script], { cwd: tmpdir(), input: JSON.stringify(input), maxBuffer: 512 * 1024 * 1024, encoding: 'utf8' })
  if (r.error) throw r.error
  if (r.status !== 0) throw new Error(`${PYTHON} failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}
