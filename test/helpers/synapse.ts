import { spawn } from 'node:child_process'
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// The real Synapse 1.67 rig of ../shared/synapse (its README.txt), set up by
// .ci/install-synapse.sh into REGGUARD_SYNAPSE_DIR: start, reset and stop it, ask its tools and
// its APIs, read what its SMTP sink saved, run matrix-js-sdk client scripts beside its own.
// Only one rig runs on a machine (fixed ports), so only one test file may use it at a time.

export const RIG_DIR = process.env.REGGUARD_SYNAPSE_DIR !== undefined && process.env.REGGUARD_SYNAPSE_DIR !== ''
  ? process.env.REGGUARD_SYNAPSE_DIR
  : '/opt/regguard-synapse'
export const SYNAPSE_URL = 'http://127.0.0.1:8008'
export const SERVER_NAME = 'localhost'
/** What the rig's homeserver.yaml and setup.sh give: the id_server 3PID invites name. */
export const ID_SERVER = '127.0.0.1:8095'
export const MAIL_DIR = join(RIG_DIR, 'mail')
const CLIENTS_DIR = join(RIG_DIR, 'js', 'regguard-e2e')
// output kept from a rig tool or a client script: enough for any diagnosis, bounded
const OUTPUT_LIMIT = 256 * 1024

/** Why the rig cannot be used here, or null when setup.sh has finished in RIG_DIR. */
export function rigMissing (): string | null {
  for (const f of ['start.sh', 'reset.sh', 'stop.sh', 'bin/make_admin.py', 'js/email_register.mjs', 'js/node_modules/matrix-js-sdk/package.json', 'conf/homeserver.yaml']) {
    if (!existsSync(join(RIG_DIR, f))) return `no Synapse rig in ${RIG_DIR} (${f} missing): run bash .ci/install-synapse.sh`
  }
  return null
}

export interface Ran { code: number | null, stdout: string, stderr: string }

/** The environment a rig process gets: none of the test runner's NODE_OPTIONS or REGGUARD_*. */
export function cleanEnv (extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k === 'NODE_OPTIONS' || k.startsWith('REGGUARD_')) continue
    env[k] = v
  }
  return { ...env, ...extra }
}

/**
 * Runs a command to its end. The test runner adds its own --import to every child's
 * NODE_OPTIONS; `env -u` drops it, so node children run as they would outside the runner.
 */
export function run (command: string, args: string[], opts: { cwd?: string, env?: Record<string, string>, timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn('env', ['-u', 'NODE_OPTIONS', command, ...args], { cwd: opts.cwd, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { if (stdout.length < OUTPUT_LIMIT) stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < OUTPUT_LIMIT) stderr += d.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, opts.timeoutMs ?? 120_000)
    child.on('error', (err) => { clearTimeout(timer); resolve({ code: null, stdout, stderr: stderr + String(err) }) })
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

async function rigScript (name: string): Promise<Ran> {
  const r = await run(join(RIG_DIR, name), [], { cwd: RIG_DIR, timeoutMs: 240_000 })
  if (r.code !== 0) throw new Error(`${RIG_DIR}/${name} exited ${String(r.code)}:\n${r.stdout}\n${r.stderr}`)
  return r
}

/**
 * Holds the rig's ports for this process, waiting while a live process holds them; a lock whose
 * process is gone is taken over. The lock is the machine's, not RIG_DIR's: every rig uses the
 * same ports. Returns the release.
 */
export async function holdRig (waitMs = 180_000): Promise<() => void> {
  const lock = join(tmpdir(), 'regguard-synapse-rig.lock')
  const until = Date.now() + waitMs
  for (;;) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' })
      return () => { if (readPid(lock) === process.pid) rmSync(lock, { force: true }) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = readPid(lock)
    if (holder !== null && !alive(holder)) { rmSync(lock, { force: true }); continue }
    if (Date.now() > until) throw new Error(`the rig's ports are held by pid ${String(holder)} (${lock})`)
    await sleep(500)
  }
}

function readPid (file: string): number | null {
  try {
    const n = Number(readFileSync(file, 'utf8').trim())
    return Number.isInteger(n) && n > 0 ? n : null
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

/** A fresh rig: stopped, database, mail and stand-in state wiped, started again. */
export async function freshRig (): Promise<void> {
  await rigScript('reset.sh')
  await rigScript('start.sh')
}

export async function stopRig (): Promise<void> {
  await rigScript('stop.sh')
}

/**
 * Restarts Synapse alone on a variant of the rig's homeserver.yaml (same database, ports and
 * mail): each top-level key of `changes` is removed from a copy, then set to its YAML value.
 * The running Synapse (start.sh's) is stopped and, since start.sh only knows the rig's own file,
 * this one is started here with start.sh's environment; the SMTP sink and the identity stand-in
 * keep running. Its pid goes where stop.sh finds it, so stopRig() or freshRig() ends it.
 * `opts.pythonPath`: folders put after the rig's own on its PYTHONPATH (a module it loads).
 */
export async function restartSynapseWith (changes: Record<string, string>, opts: { pythonPath?: string[] } = {}): Promise<void> {
  const conf = readFileSync(join(RIG_DIR, 'conf', 'homeserver.yaml'), 'utf8')
  const drop = new Set(Object.keys(changes))
  const kept: string[] = []
  let skipping = false
  for (const line of conf.split('\n')) {
    const top = /^([A-Za-z_][A-Za-z0-9_]*):/.exec(line)
    if (top !== null) skipping = drop.has(top[1] as string)
    else if (skipping && !/^(\s|-|$)/.test(line)) skipping = false
    if (!skipping) kept.push(line)
  }
  const variant = join(RIG_DIR, 'conf', 'homeserver-e2e-variant.yaml')
  writeFileSync(variant, kept.join('\n') + '\n' + Object.entries(changes).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n')
  const pidFile = join(RIG_DIR, 'run', 'synapse.pid')
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  // as stop.sh does: only a process that is the rig's Synapse (a pid can be reused)
  if (!readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('synapse.app.homeserver')) throw new Error(`pid ${pid} of ${pidFile} is not Synapse`)
  process.kill(pid, 'SIGTERM')
  for (let i = 0; i < 200 && alive(pid); i++) await sleep(50)
  if (alive(pid)) process.kill(pid, 'SIGKILL')
  for (let i = 0; i < 40 && alive(pid); i++) await sleep(50)
  if (alive(pid)) throw new Error(`Synapse (pid ${pid}) did not stop`)
  // start.sh's environment: Debian's python3 with Debian's packages, none of a caller's settings
  const env = cleanEnv({ PYTHONPATH: [`${RIG_DIR}/src`, `${RIG_DIR}/pylib`, ...(opts.pythonPath ?? [])].join(':'), PYTHONNOUSERSITE: '1' })
  for (const k of ['PYTHONHOME', 'PYTHONSTARTUP', 'PYTHONUSERBASE', 'VIRTUAL_ENV']) delete env[k]
  const out = openSync(join(RIG_DIR, 'logs', 'synapse-e2e-variant.stdout'), 'a')
  const child = spawn('/usr/bin/python3', ['-m', 'synapse.app.homeserver', '-c', variant], { cwd: RIG_DIR, env, stdio: ['ignore', out, out], detached: true })
  closeSync(out)
  child.unref()
  writeFileSync(pidFile, `${String(child.pid)}\n`)
  const until = Date.now() + 120_000
  let last: unknown = null
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`Synapse on ${variant} exited ${child.exitCode} (see ${RIG_DIR}/logs)`)
    try {
      const r = await fetch(`${SYNAPSE_URL}/_matrix/client/versions`)
      await r.arrayBuffer()
      if (r.ok) return
      last = `status ${r.status}`
    } catch (err) {
      // not listening yet: kept for the message below
      last = err
    }
    await sleep(100)
  }
  throw new Error(`Synapse on ${variant} did not answer within 120 s (last: ${String(last)})`)
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A server admin's access token (shared-secret registration; an existing user logs in). */
export async function makeAdmin (user: string, password: string): Promise<string> {
  const r = await run('/usr/bin/python3', [join(RIG_DIR, 'bin', 'make_admin.py'), user, password], { cwd: RIG_DIR, env: { SYNAPSE_URL } })
  const token = r.stdout.trim()
  if (r.code !== 0 || token === '' || /\s/.test(token)) throw new Error(`make_admin.py ${user} failed (${String(r.code)}): ${r.stderr}`)
  return token
}

/** Synapse's admin API: does the account exist? (GET /_synapse/admin/v2/users/{id}) */
export async function accountExists (adminToken: string, userId: string): Promise<boolean> {
  const r = await fetch(`${SYNAPSE_URL}/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, { headers: { authorization: `Bearer ${adminToken}` } })
  const body = await r.text()
  if (r.status === 200) return true
  if (r.status === 404) return false
  throw new Error(`admin API GET users/${userId} answered ${r.status}: ${body.slice(0, 500)}`)
}

/** Synapse's admin API: shadow-bans a user (their invites are then answered 200 and sent to nobody). */
export async function shadowBan (adminToken: string, userId: string): Promise<void> {
  const r = await fetch(`${SYNAPSE_URL}/_synapse/admin/v1/users/${encodeURIComponent(userId)}/shadow_ban`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: '{}' })
  const body = await r.text()
  if (r.status !== 200) throw new Error(`admin API shadow_ban ${userId} answered ${r.status}: ${body.slice(0, 500)}`)
}

/** The mail the SMTP sink saved, by file name (`<UTC time>-<seq>-<recipient>.eml`). */
export function mailFiles (): string[] {
  try {
    return readdirSync(MAIL_DIR).filter((n) => n.endsWith('.eml')).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

/** Saved mail that names `address` in its file name or its text. */
export function mailFor (address: string, among: string[] = mailFiles()): string[] {
  const needle = address.toLowerCase()
  return among.filter((n) => n.toLowerCase().includes(needle) || readFileSync(join(MAIL_DIR, n), 'latin1').toLowerCase().includes(needle))
}

/**
 * Copies the client scripts of `fromDir` (*.mjs) beside the rig's js/email_register.mjs, where
 * they resolve the rig's matrix-js-sdk; returns the folder they are in.
 */
export function installClients (fromDir: string): string {
  mkdirSync(CLIENTS_DIR, { recursive: true })
  for (const f of readdirSync(fromDir)) if (f.endsWith('.mjs')) copyFileSync(join(fromDir, f), join(CLIENTS_DIR, f))
  return CLIENTS_DIR
}

export interface ClientResult extends Ran {
  /** "OK ..." or "FAILED <errcode> <error>": what follows the script's "RESULT: " */
  result: string
}

/** Runs a client script with node: the rig's own (js/NAME) or one installClients() copied. */
export async function runClient (script: string, args: string[], env: Record<string, string> = {}): Promise<ClientResult> {
  const path = script.includes('/') ? script : existsSync(join(CLIENTS_DIR, script)) ? join(CLIENTS_DIR, script) : join(RIG_DIR, 'js', script)
  const r = await run(process.execPath, [path, ...args], { cwd: join(RIG_DIR, 'js'), env: { MAIL_DIR, MAIL_WAIT_S: '20', ...env }, timeoutMs: 60_000 })
  const line = r.stdout.split('\n').reverse().find((l) => l.startsWith('RESULT: '))
  return { ...r, result: line === undefined ? `NONE (exit ${String(r.code)}) ${r.stderr.slice(-2000)}` : line.slice('RESULT: '.length) }
}
