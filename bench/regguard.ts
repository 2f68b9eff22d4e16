import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import { leaves } from '../src/config/schema.js'
import { freePort, startChild, waitForPort, type Child } from './procs.js'

// regguard as operators run it: the real CLI in its own process, from a YAML file.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** The command (package.json's bin): tsc's output of src/cli.ts */
export const CLI = join(ROOT, 'dist', 'src', 'cli.js')

export const DENIED_DOMAIN = 'denied.example'
export const ALLOWED_DOMAIN = 'allowed.example'

/** Does this build's config schema have the key? (other work adds keys over time) */
export function schemaHas (path: string): boolean {
  return leaves().some(([p]) => p === path)
}

export interface RegguardOptions {
  /** Extra node flags for the regguard process, e.g. --cpu-prof */
  nodeArgs?: string[]
  /** register.policy.invite (default true, as in regguard): a denial then costs one store lookup */
  invite?: boolean
  /** Directory under the run's (default: regguard, or regguard-noinvite) */
  name?: string
  /** Environment added to the process's (bench/flood.ts: NODE_OPTIONS) */
  env?: Record<string, string>
  /** Changes the configuration before it is written (bench/workers.ts: server.workers, rate limits) */
  adjust?: (config: Record<string, unknown>) => void
}

export const NEVER_REACHED_LIMITS = { enabled: true, per_ip: { max: 1e9 }, per_address: { max: 1e9 } }

const EXAMPLE = join(ROOT, 'config', 'regguard.example.yaml')

function merge (into: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k]
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && cur !== null && typeof cur === 'object' && !Array.isArray(cur)) {
      merge(cur as Record<string, unknown>, v as Record<string, unknown>)
    } else into[k] = v
  }
  return into
}

/**
 * config/regguard.example.yaml (the defaults: decision log at info, history on, SQLite under
 * ./data) with only what the bench must change: ports, the upstream, the two domain lists, and
 * limits no bench request reaches.
 */
export function benchConfig (dir: string, port: number, adminPort: number, upstreamUrl: string, invite = true): Record<string, unknown> {
  const config = YAML.parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>
  return merge(config, {
    // every bench connection is one client (127.0.0.1): at the default cap of 32 in flight, the
    // forwarded rows would measure 429s; a cap above any connection count keeps its counting
    server: { host: '127.0.0.1', port, per_client_concurrency: 1024 },
    homeserver: { url: upstreamUrl },
    admin: { host: '127.0.0.1', port: adminPort },
    register: {
      policy: {
        invite,
        threepid: { email: { domain: { whitelist: [ALLOWED_DOMAIN], blacklist: [DENIED_DOMAIN] } } }
      },
      // on, as by default, but with limits no bench request reaches: the load comes from one
      // address, so the default limits would measure the 429 path, not the policy path
      rate_limit: NEVER_REACHED_LIMITS
    },
    storage: { url: `sqlite://${join(dir, 'regguard.sqlite')}` }
  })
}

export interface Regguard { url: string, adminUrl: string, child: Child, configFile: string, logFile: string }

export async function startRegguard (dir: string, upstreamUrl: string, opts: RegguardOptions = {}): Promise<Regguard> {
  const home = join(dir, opts.name ?? (opts.invite === false ? 'regguard-noinvite' : 'regguard'))
  mkdirSync(home, { recursive: true })
  const port = await freePort()
  const adminPort = await freePort()
  const configFile = join(home, 'regguard.yaml')
  const config = benchConfig(home, port, adminPort, upstreamUrl, opts.invite)
  opts.adjust?.(config)
  writeFileSync(configFile, YAML.stringify(config))
  // the log (a line per decision at info) goes to a file, as an operator's goes to one or a journal
  const log = openSync(join(home, 'regguard.log'), 'a')
  const child = startChild(process.execPath, [...(opts.nodeArgs ?? []), CLI, '--config', configFile], {
    stdio: ['ignore', log, 'pipe'],
    cwd: home,
    // the environment could override keys of the file (REGGUARD_*) or add node flags (NODE_OPTIONS):
    // the bench wants only its file, and flags only where it asks for them
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGGUARD_') && k !== 'NODE_OPTIONS')), ...opts.env }
  })
  closeSync(log)
  await waitForPort(port, child)
  return { url: `http://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${adminPort}`, child, configFile, logFile: join(home, 'regguard.log') }
}
