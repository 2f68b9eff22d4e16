import { parseArgs } from 'node:util'
import { CommandError, CommandUsageError, ListsUsageError } from './errors.js'
import { ConfigError, loadConfig, type LoadedConfig } from '../config/load.js'

// Each command's module is loaded when it runs: `regguard serve` (and a cluster's primary above
// all) carries none of the others' imports (the store drivers, the lists' fetcher).

const USAGE = `usage:
  regguard [serve] --config FILE            run the proxy (FILE may also come from REGGUARD_CONFIG)
  regguard check-config --config FILE       validate a configuration; exit 0 when valid
  regguard policy check --config FILE [--no-dns] email ADDRESS
  regguard policy check --config FILE msisdn NUMBER
  regguard policy check --config FILE username NAME
  regguard policy check --config FILE --ip ADDR --user-agent UA [email ADDRESS | msisdn NUMBER | username NAME]
                                            print the decision and the rule; exit 0 allow, 1 deny
                                            (--ip, --user-agent: the requester rules, judged first;
                                            live lists from lists.cache_dir; --no-dns skips the
                                            mail-server rules)
  regguard export mas-policy --config FILE  print the policy as MAS policy.data (YAML), with a
                                            comment for everything MAS cannot express
  regguard lists status --config FILE       each live list: source, cached entries, last fetch
  regguard lists refresh --config FILE      fetch the live lists into lists.cache_dir now; exit 1
                                            when one fails
  regguard config sample                    print the sample configuration, generated from the schema
  regguard invites add --config FILE email ADDRESS    (or: msisdn NUMBER)
  regguard invites list --config FILE [--medium M] [--address A] [--inviter U] [--limit N] [--from TOKEN]
  regguard invites revoke --config FILE ID
  regguard invites revoke --config FILE --inviter U    every pending invite U taught
  regguard invites import --config FILE FILE.csv     one "medium,address" a line; all or nothing
                                            invites work on the store at storage.url
`

/** Where a command writes and what it reads: the process's own, or a test's. */
export interface CliIo {
  out: (text: string) => void
  err: (text: string) => void
  env: Record<string, string | undefined>
}

class UsageError extends Error {}

/** Ends the command with this message on stderr and this exit status (never process.exit here). */
class Exit extends Error {
  constructor (message: string, readonly code: number) { super(message) }
}

function fail (message: string, code = 2): never {
  throw new Exit(message, code)
}

async function commandErrors (io: CliIo, run: () => Promise<number>): Promise<number> {
  try {
    return await run()
  } catch (err) {
    if (!(err instanceof CommandError)) throw err
    if (err instanceof CommandUsageError) throw new UsageError(err.message)
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
      io.err(`regguard: ${(err as Error).message}\n${USAGE}`)
      return 2
    }
    throw err
  }
}

async function dispatch (argv: string[], io: CliIo): Promise<number> {
  const load = (file: string | undefined): LoadedConfig => {
    try {
      return loadConfig({ file: file ?? io.env.REGGUARD_CONFIG ?? null, env: io.env })
    } catch (err) {
      if (err instanceof ConfigError) fail(err.message)
      throw err
    }
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
  if (values.help === true) { io.out(USAGE); return 0 }
  const [command = 'serve', ...rest] = positionals
  if (values['no-dns'] === true && command !== 'policy') throw new UsageError('--no-dns belongs to policy check')
  const listOptions = { medium: values.medium, address: values.address, limit: values.limit, from: values.from }
  if ((command !== 'invites' || rest[0] !== 'list') && Object.values(listOptions).some((v) => v !== undefined)) {
    throw new UsageError('--medium, --address, --limit and --from belong to invites list')
  }
  if (values.inviter !== undefined && (command !== 'invites' || (rest[0] !== 'list' && rest[0] !== 'revoke'))) {
    throw new UsageError('--inviter belongs to invites list and invites revoke')
  }
  const requester = { ip: values.ip, userAgent: values['user-agent'] }
  if ((command !== 'policy' || rest[0] !== 'check') && (requester.ip !== undefined || requester.userAgent !== undefined)) {
    throw new UsageError('--ip and --user-agent belong to policy check')
  }
  switch (command) {
    case 'serve':
      // loaded only to serve: the other commands start faster without fastify and undici
      await (await import('../server.js')).serve(values.config ?? io.env.REGGUARD_CONFIG ?? null)
      return -1 // keeps running
    case 'check-config': {
      const config = load(values.config)
      io.out(`configuration ${config.file ?? '(defaults)'} is valid\n`)
      return 0
    }
    case 'policy':
      if (rest[0] !== 'check') throw new UsageError('unknown policy command')
      return await commandErrors(io, async () => await (await import('./policy-check.js')).policyCheck(io, load(values.config), rest[1], rest[2], requester, values['no-dns'] === true))
    case 'export': {
      if (rest[0] !== 'mas-policy') throw new UsageError('unknown export command (known: mas-policy)')
      const config = load(values.config)
      io.out((await import('./export-mas.js')).masPolicyYaml(config.settings, config.policy, config.file ?? '(defaults)'))
      return 0
    }
    case 'lists':
      try {
        return await (await import('./lists.js')).listsCommand(load(values.config), rest[0], { out: io.out, err: io.err })
      } catch (err) {
        if (err instanceof ListsUsageError) throw new UsageError(err.message)
        throw err
      }
    case 'config':
      if (rest[0] !== 'sample') throw new UsageError('unknown config command')
      io.out((await import('../config/sample.js')).sampleConfig())
      return 0
    case 'invites':
      return await commandErrors(io, async () => await (await import('./invites.js')).invitesCommand(load(values.config), rest, { ...listOptions, inviter: values.inviter }, {
        out: io.out,
        err: io.err
      }))
    default:
      throw new UsageError(`unknown command ${command}`)
  }
}
