#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { CommandError, CommandUsageError, invitesCommand, pendingForCheck } from './commands/invites.js'
import { ConfigError, loadConfig, type LoadedConfig } from './config/load.js'
import { sampleConfig } from './config/sample.js'
import { canonicalEmail, canonicalMsisdnNumber, type Medium } from './policy/canonical.js'
import { decide, describeDecision } from './policy/policy.js'

const USAGE = `usage:
  regguard [serve] --config FILE            run the proxy (FILE may also come from REGGUARD_CONFIG)
  regguard check-config --config FILE       validate a configuration; exit 0 when valid
  regguard policy check --config FILE email ADDRESS
  regguard policy check --config FILE msisdn NUMBER
                                            print the decision and the rule; exit 0 allow, 1 deny
  regguard config sample                    print the sample configuration, generated from the schema
  regguard invites add --config FILE email ADDRESS    (or: msisdn NUMBER)
  regguard invites list --config FILE [--medium M] [--address A] [--inviter U] [--limit N] [--from TOKEN]
  regguard invites revoke --config FILE ID
  regguard invites revoke --config FILE --inviter U    every pending invite U taught
  regguard invites import --config FILE FILE.csv     one "medium,address" a line; all or nothing
                                            invites work on the store at storage.url
`

class UsageError extends Error {}

function fail (message: string, code = 2): never {
  process.stderr.write(`regguard: ${message}\n`)
  process.exit(code)
}

function load (file: string | undefined): LoadedConfig {
  try {
    return loadConfig({ file: file ?? process.env.REGGUARD_CONFIG ?? null })
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message)
    throw err
  }
}

async function policyCheck (config: LoadedConfig, medium: string | undefined, address: string | undefined): Promise<number> {
  if ((medium !== 'email' && medium !== 'msisdn') || address === undefined) throw new UsageError('policy check needs: email ADDRESS or msisdn NUMBER')
  const canonical = medium === 'email' ? canonicalEmail(address) : canonicalMsisdnNumber(address)
  if (!canonical.ok) fail(`cannot parse ${medium} ${JSON.stringify(address)}: ${canonical.reason}`)
  const invite = await pendingForCheck(config, medium as Medium, canonical.address)
  const decision = decide(config.policy, medium as Medium, canonical.address, invite)
  process.stdout.write(`${decision.allowed ? 'allow' : 'deny'} ${medium} ${canonical.address}: ${describeDecision(decision)}\n`)
  return decision.allowed ? 0 : 1
}

async function commandErrors (run: () => Promise<number>): Promise<number> {
  try {
    return await run()
  } catch (err) {
    if (!(err instanceof CommandError)) throw err
    if (err instanceof CommandUsageError) throw new UsageError(err.message)
    process.stderr.write(`regguard: ${err.message}\n`)
    return err.exitCode
  }
}

export async function main (argv: string[]): Promise<number> {
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
      inviter: { type: 'string' }
    },
    allowPositionals: true
  })
  if (values.help === true) { process.stdout.write(USAGE); return 0 }
  const [command = 'serve', ...rest] = positionals
  const listOptions = { medium: values.medium, address: values.address, limit: values.limit, from: values.from }
  if ((command !== 'invites' || rest[0] !== 'list') && Object.values(listOptions).some((v) => v !== undefined)) {
    throw new UsageError('--medium, --address, --limit and --from belong to invites list')
  }
  if (values.inviter !== undefined && (command !== 'invites' || (rest[0] !== 'list' && rest[0] !== 'revoke'))) {
    throw new UsageError('--inviter belongs to invites list and invites revoke')
  }
  switch (command) {
    case 'serve':
      // loaded only to serve: the other commands start faster without fastify and undici
      await (await import('./server.js')).serve(values.config ?? process.env.REGGUARD_CONFIG ?? null)
      return -1 // keeps running
    case 'check-config': {
      const config = load(values.config)
      process.stdout.write(`configuration ${config.file ?? '(defaults)'} is valid\n`)
      return 0
    }
    case 'policy':
      if (rest[0] !== 'check') throw new UsageError('unknown policy command')
      return await commandErrors(() => policyCheck(load(values.config), rest[1], rest[2]))
    case 'config':
      if (rest[0] !== 'sample') throw new UsageError('unknown config command')
      process.stdout.write(sampleConfig())
      return 0
    case 'invites':
      return await commandErrors(() => invitesCommand(load(values.config), rest, { ...listOptions, inviter: values.inviter }, {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text)
      }))
    default:
      throw new UsageError(`unknown command ${command}`)
  }
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exitCode = code
}, (err) => {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
    process.stderr.write(`regguard: ${(err as Error).message}\n${USAGE}`)
    process.exit(2)
  }
  process.stderr.write(`regguard: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
