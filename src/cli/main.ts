import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { CommandError, CommandUsageError, ListsUsageError } from './errors.js'
import { HELP, overview } from './usage.js'
import { ConfigError, loadConfig, type LoadedConfig } from '../config/load.js'

// Each command's module is loaded when it runs: `regguard serve` (and a cluster's primary above
// all) carries none of the others' imports (the store drivers, the lists' fetcher).

/** Where a command writes and what it reads: the process's own, or a test's. */
export interface CliIo {
  out: (text: string) => void
  err: (text: string) => void
  env: Record<string, string | undefined>
}

/** Wrong arguments: one line, the hint to the command's own usage, exit 2. */
class UsageError extends Error {
  constructor (message: string, readonly command?: string) { super(message) }
}

/** The commands that read a configuration, and so refuse to run without one. */
const NEEDS_CONFIG = new Set(['serve', 'check-config', 'policy', 'export', 'lists', 'invites', 'requests', 'mas'])

/** The package's version, from the package.json above this file (in a checkout or installed). */
function version (): string {
  for (let dir = new URL('.', import.meta.url); dir.pathname !== '/'; dir = new URL('..', dir)) {
    let text: string
    try { text = readFileSync(new URL('package.json', dir), 'utf8') } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw err
    }
    const pkg = JSON.parse(text) as { name?: string, version?: string }
    if (pkg.name === 'matrix-regguard' && typeof pkg.version === 'string') return pkg.version
  }
  return 'unknown'
}

function hint (command: string | undefined): string {
  return command !== undefined && command in HELP ? `see: regguard ${command} --help\n` : 'see: regguard help\n'
}

/** Ends the command with this message on stderr and this exit status (never process.exit here). */
class Exit extends Error {
  constructor (message: string, readonly code: number) { super(message) }
}

function fail (message: string, code = 2): never {
  throw new Exit(message, code)
}

async function commandErrors (io: CliIo, command: string, run: () => Promise<number>): Promise<number> {
  try {
    return await run()
  } catch (err) {
    if (!(err instanceof CommandError)) throw err
    if (err instanceof CommandUsageError) throw new UsageError(err.message, command)
    io.err(`regguard: ${err.message}\n`)
    return err.exitCode
  }
}

/**
 * Runs one command and resolves with its exit status (-1: serve, which keeps running). Tests
 * call it in-process; src/cli.ts runs it for the process.
 */
export async function run (argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io)
  } catch (err) {
    if (err instanceof Exit) { io.err(`regguard: ${err.message}\n`); return err.code }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      // node's parseArgs messages can run to several lines: the first is the one that matters
      const first = (err as Error).message.split('\n')[0] as string
      io.err(`regguard: ${first}\n${hint(err instanceof UsageError ? err.command : commandOf(argv))}`)
      return 2
    }
    throw err
  }
}

/** The command a usage error belongs to: the first word that is not an option. */
function commandOf (argv: string[]): string | undefined {
  return argv.find((a) => !a.startsWith('-'))
}

/** The configuration file of a command that needs one; refuses when neither way names one. */
function configFile (flag: string | undefined, io: CliIo, command: string): string {
  const file = flag ?? io.env.REGGUARD_CONFIG
  if (file === undefined || file === '') {
    throw new UsageError(`${command} needs a configuration: --config FILE or REGGUARD_CONFIG=FILE (a starting point: config/regguard.minimal.yaml)`, command)
  }
  return file
}

async function dispatch (argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) { io.out(`regguard ${version()}\n`); return 0 }
  if (argv[0] === 'help') {
    const topic = argv[1]
    if (argv.length > 2 || (topic !== undefined && !(topic in HELP))) throw new UsageError(`no help for ${JSON.stringify(argv.slice(1).join(' '))} (commands: ${Object.keys(HELP).join(', ')})`)
    io.out(topic !== undefined ? (HELP[topic] as { text: string }).text : overview())
    return 0
  }
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
      // invites list only
      medium: { type: 'string' },
      address: { type: 'string' },
      limit: { type: 'string' },
      from: { type: 'string' },
      // invites list and revoke
      inviter: { type: 'string' },
      // policy check only
      ip: { type: 'string' },
      'user-agent': { type: 'string' },
      'no-dns': { type: 'boolean' }
    },
    allowPositionals: true
  })
  const [command = 'serve', ...rest] = positionals
  if (values.help === true) { io.out(positionals.length > 0 ? HELP[command]?.text ?? overview() : overview()); return 0 }
  const config = NEEDS_CONFIG.has(command) ? configFile(values.config, io, command) : undefined
  // a command's configuration, or the refusal to run without one (never silent defaults)
  const load = (file: string | undefined): LoadedConfig => {
    try {
      return loadConfig({ file: configFile(file ?? values.config, io, command), env: io.env })
    } catch (err) {
      if (err instanceof ConfigError) fail(err.message)
      throw err
    }
  }
  if (values['no-dns'] === true && command !== 'policy') throw new UsageError('--no-dns belongs to policy check', command)
  const listOptions = { medium: values.medium, address: values.address, limit: values.limit, from: values.from }
  if ((command !== 'invites' || rest[0] !== 'list') && Object.values(listOptions).some((v) => v !== undefined)) {
    throw new UsageError('--medium, --address, --limit and --from belong to invites list', command)
  }
  if (values.inviter !== undefined && (command !== 'invites' || (rest[0] !== 'list' && rest[0] !== 'revoke'))) {
    throw new UsageError('--inviter belongs to invites list and invites revoke', command)
  }
  const requester = { ip: values.ip, userAgent: values['user-agent'] }
  if ((command !== 'policy' || rest[0] !== 'check') && (requester.ip !== undefined || requester.userAgent !== undefined)) {
    throw new UsageError('--ip and --user-agent belong to policy check', command)
  }
  switch (command) {
    case 'serve':
      // loaded only to serve: the other commands start faster without fastify and undici
      await (await import('../server.js')).serve(config ?? null)
      return -1 // keeps running
    case 'check-config': {
      const loaded = load(config)
      io.out(`configuration ${loaded.file ?? '(defaults)'} is valid\n`)
      return 0
    }
    case 'policy':
      if (rest[0] !== 'check') throw new UsageError('policy needs: check', command)
      return await commandErrors(io, command, async () => await (await import('./policy-check.js')).policyCheck(io, load(config), rest[1], rest[2], requester, values['no-dns'] === true))
    case 'export': {
      if (rest[0] !== 'mas-policy') throw new UsageError('export needs: mas-policy', command)
      const loaded = load(config)
      io.out((await import('./export-mas.js')).masPolicyYaml(loaded, loaded.file ?? '(defaults)'))
      return 0
    }
    case 'lists':
      try {
        return await (await import('./lists.js')).listsCommand(load(config), rest[0], { out: io.out, err: io.err })
      } catch (err) {
        if (err instanceof ListsUsageError) throw new UsageError(err.message, command)
        throw err
      }
    case 'config':
      if (rest[0] !== 'sample') throw new UsageError('config needs: sample', command)
      io.out((await import('../config/sample.js')).sampleConfig())
      return 0
    case 'invites':
      return await commandErrors(io, command, async () => await (await import('./invites.js')).invitesCommand(load(config), rest, { ...listOptions, inviter: values.inviter }, {
        out: io.out,
        err: io.err
      }))
    case 'requests':
      return await commandErrors(io, command, async () => await (await import('../approval/cli.js')).requestsCommand(load(config), rest, { out: io.out, err: io.err }))
    case 'mas':
      if (rest[0] !== 'push') throw new UsageError('mas needs: push', command)
      return await commandErrors(io, command, async () => await (await import('../mas/push-command.js')).masPushCommand(load(config), { out: io.out, err: io.err }))
    default:
      throw new UsageError(`unknown command ${command}`)
  }
}
