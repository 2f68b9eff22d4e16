import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
// one implementation of pack-and-install, shared with scripts/test.mjs and scripts/smoke.mjs
import { commandIn, installedMarker, packAndInstall as packAndInstallInto, ROOT } from '../../scripts/install-packed.mjs'

// The command as an operator installs it: `npm pack` of this checkout (which builds through
// prepack), then `npm install -g --prefix DIR` of the tarball. Tests run that DIR/bin/regguard as
// a process of its own, so nothing of the checkout's node_modules or sources is in it.
//
// One pack and install serves a whole `npm test` run: scripts/test.mjs does it first and passes
// the prefix in REGGUARD_INSTALLED_PREFIX. A test file run on its own packs once into a cache
// folder named for the checkout, reused while the checkout's commit and uncommitted changes
// (their content, not only their names) are the same.

/** Packs and installs this checkout into `prefix`; returns the installed command's path. */
export function packAndInstall (prefix: string): string {
  return packAndInstallInto(prefix)
}

const SOURCES = ['src', 'console', 'bench', 'package.json', 'package-lock.json', 'scripts', 'config', 'docs', 'tsconfig.json', 'README.md']

function checkoutState (): string {
  const git = (args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' })
  const hash = createHash('sha256').update(git(['rev-parse', 'HEAD']))
  for (const line of git(['status', '--porcelain', '--untracked-files=all', '--', ...SOURCES]).split('\n')) {
    if (line === '') continue
    hash.update(line)
    const path = join(ROOT, line.slice(3).replace(/^.* -> /, ''))
    if (existsSync(path) && statSync(path).isFile()) hash.update(readFileSync(path))
  }
  return hash.digest('hex').slice(0, 16)
}

// one answer per test process, even if the checkout changes while its tests run (and one
// failed pack, not one a test)
let resolved: { bin: string } | { err: Error } | null = null

/** The installed `regguard` command (path of DIR/bin/regguard). */
export function installedCommand (): string {
  if (resolved === null) {
    try { resolved = { bin: findOrInstall() } } catch (err) { resolved = { err: err as Error } }
  }
  if ('err' in resolved) throw resolved.err
  return resolved.bin
}

function findOrInstall (): string {
  const given = process.env.REGGUARD_INSTALLED_PREFIX
  if (given !== undefined && given !== '') {
    if (!existsSync(installedMarker(given))) throw new Error(`REGGUARD_INSTALLED_PREFIX=${given} holds no finished install`)
    return commandIn(given)
  }
  const prefix = join(tmpdir(), `regguard-installed-${checkoutState()}`)
  if (existsSync(installedMarker(prefix))) return commandIn(prefix)
  // several test files may ask at once: the first to make the lock folder installs
  const lock = `${prefix}.lock`
  try {
    mkdirSync(lock)
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err
    const until = Date.now() + 10 * 60_000
    while (!existsSync(installedMarker(prefix)) && existsSync(lock) && Date.now() < until) execFileSync('sleep', ['1'])
    if (existsSync(installedMarker(prefix))) return commandIn(prefix)
    throw new Error(`another process was installing into ${prefix} and did not finish`)
  }
  try {
    return packAndInstall(prefix)
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/** The installed package's folder (its package.json, dist/, console files). */
export function installedPackageDir (): string {
  const bin = installedCommand()
  const dir = join(dirname(dirname(bin)), 'lib', 'node_modules', 'matrix-regguard')
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  return dir
}
