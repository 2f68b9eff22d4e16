import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import YAML from 'yaml'
import { installedCommand } from '../helpers/installed.js'
import { rawRequest, type RawResponse } from '../helpers/raw-http.js'

// The installed `regguard` (test/helpers/installed.ts) as its own process, as an operator runs
// it: a config file in a folder of its own (also its working directory), no REGGUARD_* variable
// from the test's environment, and without the test runner's NODE_OPTIONS, which would load the
// runner's process-tracking hook into the command before its first line. Nothing of src/ is
// imported here: what is asserted is what the shipped files do.

type Teardown = { teardown: (fn: () => unknown) => void }
export type Log = Record<string, unknown>

export interface Command {
  child: ChildProcess
  dir: string
  logs: Log[]
  stderr: () => string
  /** Resolves with the first log line (already seen or later) that `match` accepts */
  waitForLog: (match: (l: Log) => boolean, timeoutMs?: number) => Promise<Log>
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** A folder removed at the end of the test. */
export function tempDir (t: Teardown, name = 'regguard-installed-'): string {
  const dir = mkdtempSync(join(tmpdir(), name))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The environment the command gets: the test's, less REGGUARD_*, NODE_OPTIONS and NODE_PATH, this Node first on PATH. */
export function commandEnv (extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  // NODE_PATH too: modules come from the installed package's own node_modules, nowhere else
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('REGGUARD_') && k !== 'NODE_OPTIONS' && k !== 'NODE_PATH') env[k] = v
  // the command's shebang is `#!/usr/bin/env node`: the Node this suite runs on
  env.PATH = `${dirname(process.execPath)}:${env.PATH ?? ''}`
  return { ...env, ...extra }
}

/** Starts the installed command with these arguments (`env -u NODE_OPTIONS`: see above). */
export function spawnCommand (t: Teardown, args: string[], opts: { cwd: string, env?: Record<string, string> }): Command {
  const child = spawn('env', ['-u', 'NODE_OPTIONS', installedCommand(), ...args], { cwd: opts.cwd, env: commandEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] })
  const logs: Log[] = []
  const waiters: Array<() => void> = []
  let partial = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => {
    partial += d.toString()
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (line === '') continue
      try { logs.push(JSON.parse(line) as Log) } catch { logs.push({ raw: line }) }
    }
    for (const w of waiters.splice(0)) w()
  })
  child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => {
    resolve({ code, signal })
    for (const w of waiters.splice(0)) w()
  }))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const waitForLog = (match: (l: Log) => boolean, timeoutMs = 20_000): Promise<Log> =>
    new Promise((resolve, reject) => {
      const fail = (why: string): void => reject(new Error(`${why}; log: ${JSON.stringify(logs).slice(-3000)}; stderr: ${err.slice(-2000)}`))
      const deadline = setTimeout(() => fail(`no such log line within ${timeoutMs} ms`), timeoutMs)
      const check = (): void => {
        const hit = logs.find(match)
        if (hit !== undefined) { clearTimeout(deadline); resolve(hit); return }
        if (child.exitCode !== null || child.signalCode !== null) { clearTimeout(deadline); fail(`regguard exited (${child.exitCode ?? child.signalCode})`); return }
        waiters.push(check)
      }
      check()
    })
  return { child, dir: opts.cwd, logs, stderr: () => err, waitForLog, exited }
}

export interface Served extends Command {
  file: string
  port: number
  adminPort: number
  url: string
  adminUrl: string
  /** Rewrites the config file (listening ports kept as first bound) */
  rewrite: (config: Record<string, any>) => void
}

/** Deep merge of plain objects, `over` winning; arrays and scalars replaced. */
export function merge (base: Record<string, any>, over: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...base }
  for (const [k, v] of Object.entries(over)) {
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k]) ? merge(out[k], v) : v
  }
  return out
}

export const ADMIN_TOKEN = 'installed-admin-token-0123456789'

/** The configuration every test starts from: loopback listeners on port 0, a store and list cache in `dir`. */
export function baseConfig (dir: string, homeserverUrl: string): Record<string, any> {
  return {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0, token: ADMIN_TOKEN },
    homeserver: { url: homeserverUrl },
    storage: { url: `sqlite://${join(dir, 'regguard.sqlite')}` },
    lists: { cache_dir: join(dir, 'lists') },
    // every test client is 127.0.0.1: rate limits are off unless a test sets them
    register: { rate_limit: { enabled: false } }
  }
}

/**
 * `regguard --config FILE` (serve), the file written as YAML from `config` over baseConfig;
 * resolves once it logged "regguard listening" (one process) or "all workers listening"
 * (server.workers > 1: give fixed ports then, the workers share them).
 */
export async function serve (t: Teardown, homeserverUrl: string, config: Record<string, any> = {}, opts: { dir?: string, args?: string[] } = {}): Promise<Served> {
  const dir = opts.dir ?? tempDir(t)
  const file = join(dir, 'regguard.yaml')
  const write = (c: Record<string, any>): void => { writeFileSync(file, YAML.stringify(merge(baseConfig(dir, homeserverUrl), c))) }
  write(config)
  const cmd = spawnCommand(t, [...(opts.args ?? []), '--config', file], { cwd: dir })
  const workers = Number(config.server?.workers ?? 1)
  let port: number
  let adminPort: number
  if (workers > 1) {
    await cmd.waitForLog((l) => l.msg === 'all workers listening', 60_000)
    port = Number(config.server.port)
    adminPort = Number(config.admin.port)
  } else {
    const line = await cmd.waitForLog((l) => l.msg === 'regguard listening', 30_000)
    port = (line.proxy as { port: number }).port
    adminPort = (line.admin as { port: number }).port
  }
  const rewrite = (c: Record<string, any>): void => { write(merge(c, { server: { port }, admin: { port: adminPort } })) }
  return { ...cmd, file, port, adminPort, url: `http://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${adminPort}`, rewrite }
}

/** Runs the installed command to its end; its exit code, stdout and stderr. */
export async function runCommand (t: Teardown, args: string[], opts: { cwd?: string, env?: Record<string, string>, timeoutMs?: number } = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const cwd = opts.cwd ?? tempDir(t)
  const child = spawn('env', ['-u', 'NODE_OPTIONS', installedCommand(), ...args], { cwd, env: commandEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000)
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/** Polls until `check` returns a value (not undefined), for at most `ms`. */
export async function eventually<T> (check: () => T | undefined | Promise<T | undefined>, ms = 5000): Promise<T | undefined> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v !== undefined || Date.now() > deadline) return v
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** A JSON call on the admin listener (Authorization: Bearer `token` unless null). */
export async function adminCall (adminUrl: string, method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN): Promise<{ status: number, body: any, headers: Headers }> {
  const headers: Record<string, string> = {}
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(adminUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = text === '' ? null : JSON.parse(text) } catch {}
  return { status: res.status, body: parsed, headers: res.headers }
}

/**
 * A POST on a connection of its own (Connection: close), by hand so no client library touches
 * the bytes; given the time a loaded machine may need (test/helpers/raw-http's rawPost gives 3 s).
 */
export function postRaw (port: number, target: string, body: string | Buffer, headers: Record<string, string> = { 'Content-Type': 'application/json' }, timeoutMs = 20_000): Promise<RawResponse> {
  const b = typeof body === 'string' ? Buffer.from(body) : body
  const lines = [`POST ${target} HTTP/1.1`, 'Host: matrix.example.org', 'Connection: close', `Content-Length: ${b.length}`]
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
  return rawRequest(port, Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), b]), timeoutMs)
}

/** A JSON POST; the answer's status, parsed body and headers. */
export async function postJson (port: number, target: string, body: unknown): Promise<{ status: number, body: Record<string, unknown>, headers: Record<string, string> }> {
  const r = await postRaw(port, target, typeof body === 'string' ? body : JSON.stringify(body))
  let parsed: Record<string, unknown>
  try { parsed = JSON.parse(r.body) as Record<string, unknown> } catch { parsed = { raw: r.body } }
  return { status: r.status, body: parsed, headers: r.headers }
}
