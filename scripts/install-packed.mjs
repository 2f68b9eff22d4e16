// The command as an operator installs it: `npm pack` of this checkout (which builds through the
// prepack script), then `npm install -g --prefix PREFIX` of the tarball; PREFIX/bin/regguard is
// then that installed command. Shared by scripts/test.mjs (once per `npm test`, for
// test/installed/), scripts/smoke.mjs and test/helpers/installed.ts.
//
// The pack runs in a copy of the checkout's sources (node_modules linked, not copied): prepack
// deletes and rebuilds dist/, which in the working tree would pull dist/ from under any process
// running from it at the time. The tarball is the same: `files` picks from a fresh build either way.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

// what the pack does not need from the checkout: built output, dependencies (linked), history,
// the tests, and state a local run leaves behind
const NOT_COPIED = new Set(['node_modules', 'dist', '.git', 'test', 'data', '.tap'])

/** The file a finished install leaves in its prefix (its content: the tarball's name). */
export function installedMarker (prefix) {
  return join(prefix, 'installed.ok')
}

/** PREFIX/bin/regguard */
export function commandIn (prefix) {
  return join(prefix, 'bin', 'regguard')
}

/**
 * npm as the Node running this script runs it: its folder first on PATH (npm's scripts and the
 * native addons' build then use this Node), and its headers for node-gyp when it has them.
 */
function npmEnv () {
  const nodeBin = dirname(process.execPath)
  const env = { ...process.env, PATH: `${nodeBin}:${process.env.PATH ?? ''}`, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }
  const home = dirname(nodeBin)
  if (existsSync(join(home, 'include', 'node', 'node.h'))) env.npm_config_nodedir = home
  // the command under test is the one installed, with no test runner's hooks in npm's children
  delete env.NODE_OPTIONS
  return env
}

function npm (args, cwd, env) {
  const npmCli = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')
  const [cmd, pre] = existsSync(npmCli) ? [process.execPath, [npmCli]] : ['npm', []]
  return execFileSync(cmd, [...pre, ...args], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 })
}

/** Packs this checkout and installs the tarball into `prefix`; returns the installed command's path. */
export function packAndInstall (prefix, { root = ROOT } = {}) {
  const env = npmEnv()
  mkdirSync(prefix, { recursive: true })
  rmSync(installedMarker(prefix), { force: true })
  const stage = join(prefix, 'checkout')
  const packDir = join(prefix, 'pack')
  for (const d of [stage, packDir]) { rmSync(d, { recursive: true, force: true }); mkdirSync(d, { recursive: true }) }
  for (const name of readdirSync(root)) {
    if (!NOT_COPIED.has(name)) cpSync(join(root, name), join(stage, name), { recursive: true })
  }
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir')
  npm(['pack', '--silent', '--pack-destination', packDir], stage, env)
  const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'))
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${packDir}`)
  npm(['install', '-g', '--no-audit', '--no-fund', '--prefix', prefix, join(packDir, tarball)], prefix, env)
  rmSync(stage, { recursive: true, force: true })
  const bin = commandIn(prefix)
  if (!existsSync(bin)) throw new Error(`the installed package has no ${bin}`)
  writeFileSync(installedMarker(prefix), tarball)
  return bin
}

// `node scripts/install-packed.mjs PREFIX`: installs there and prints the command's path
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const prefix = process.argv[2]
  if (prefix === undefined) { process.stderr.write('usage: node scripts/install-packed.mjs PREFIX\n'); process.exit(2) }
  process.stdout.write(packAndInstall(prefix) + '\n')
}
