import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { installedCommand } from '../helpers/installed.js'
import { freePort } from '../helpers/net.js'
import { cleanEnv, run, SERVER_NAME, SYNAPSE_URL, type Ran } from '../helpers/synapse.js'

// The installed `regguard` command as operators run it: a process of its own, started from a
// folder holding nothing but its configuration file and what it writes (its SQLite store),
// without the test runner's NODE_OPTIONS, in front of the rig's Synapse.

// log lines kept per gate, and the size of one: enough to show why something was not learned
const LOG_LINES = 5000
const LOG_LINE_CHARS = 4096

export interface Gate {
  /** http://127.0.0.1:PORT, what the clients are pointed at */
  url: string
  dir: string
  configFile: string
  logs: Array<Record<string, unknown>>
  /** The last log lines, for an assertion's diagnostics */
  tail: (n?: number) => string
  /** Runs another command of the installed regguard with this gate's --config */
  cli: (args: string[]) => Promise<Ran>
  /** The installed command's `invites list`: address -> its tab-separated columns */
  invites: () => Promise<Map<string, string[]>>
  stop: () => Promise<void>
}

/** `over` merged into `base`, objects key by key, anything else replaced. */
function merged (base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? merged(out[k], v) : v
  return out
}

/**
 * The policy every e2e gate starts from: allowed.test may register, nothing else may.
 * `settings`: other keys, merged over the whole configuration.
 */
export function gateConfig (port: number, adminPort: number, policy: Record<string, unknown>, adminToken: string, settings: Record<string, unknown> = {}): Record<string, unknown> {
  return merged({
    server: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
    homeserver: { url: SYNAPSE_URL, server_name: SERVER_NAME, admin_token: adminToken },
    log: { level: 'info', full_addresses: true },
    register: {
      policy: {
        allowed: false,
        invite: true,
        threepid: { email: { domain: { whitelist: ['allowed.test'] } } },
        ...policy
      },
      // the suite asks for many tokens from one address in a few seconds
      rate_limit: { enabled: false }
    },
    storage: { url: 'sqlite://./regguard.sqlite' },
    invites: { learn: { enabled: true } }
  }, settings)
}

export async function startGate (t: { teardown: (fn: () => unknown) => void }, policy: Record<string, unknown>, adminToken: string, settings: Record<string, unknown> = {}): Promise<Gate> {
  const bin = installedCommand()
  const dir = mkdtempSync(join(tmpdir(), 'regguard-e2e-'))
  const port = await freePort()
  const adminPort = await freePort()
  const configFile = join(dir, 'regguard.yaml')
  // YAML 1.2 reads JSON
  writeFileSync(configFile, JSON.stringify(gateConfig(port, adminPort, policy, adminToken, settings), null, 2))
  const child: ChildProcess = spawn('env', ['-u', 'NODE_OPTIONS', bin, 'serve', '--config', configFile], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  const logs: Array<Record<string, unknown>> = []
  const keep = (l: Record<string, unknown>): void => { if (logs.length < LOG_LINES) logs.push(l) }
  let partial = ''
  child.stdout?.on('data', (d: Buffer) => {
    partial += d.toString()
    const lines = partial.split('\n')
    partial = (lines.pop() ?? '').slice(-LOG_LINE_CHARS)
    for (const line of lines) {
      try { keep(JSON.parse(line.slice(0, LOG_LINE_CHARS)) as Record<string, unknown>) } catch { keep({ raw: line.slice(0, LOG_LINE_CHARS) }) }
    }
  })
  child.stderr?.on('data', (d: Buffer) => { keep({ stderr: d.toString().slice(0, LOG_LINE_CHARS) }) })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const cli = (args: string[]): Promise<Ran> => run(bin, [...args, '--config', configFile], { cwd: dir })
  const tail = (n = 40): string => logs.slice(-n).map((l) => JSON.stringify(l)).join('\n')

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(killer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  t.teardown(stop)

  const until = Date.now() + 30_000
  for (;;) {
    if (logs.some((l) => l.msg === 'regguard listening')) break
    if (child.exitCode !== null) throw new Error(`${bin} exited ${child.exitCode} before listening:\n${tail()}`)
    if (Date.now() > until) throw new Error(`${bin} did not log "regguard listening" within 30 s:\n${tail()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    configFile,
    logs,
    tail,
    cli,
    async invites () {
      const r = await cli(['invites', 'list'])
      if (r.code !== 0) throw new Error(`regguard invites list exited ${String(r.code)}: ${r.stderr}`)
      const out = new Map<string, string[]>()
      for (const line of r.stdout.split('\n')) {
        const cols = line.split('\t')
        if (cols.length >= 8) out.set(cols[2] as string, cols)
      }
      return out
    },
    stop
  }
}
