#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig, type LoadedConfig } from './config/load.js'
import { sampleConfig } from './config/sample.js'
import { canonicalEmail, canonicalMsisdnNumber, type Medium } from './policy/canonical.js'
import { decide, describeDecision } from './policy/policy.js'
import { serve } from './server.js'

const USAGE = `usage:
  regguard [serve] --config FILE            run the proxy (FILE may also come from REGGUARD_CONFIG)
  regguard check-config --config FILE       validate a configuration; exit 0 when valid
  regguard policy check --config FILE email ADDRESS
  regguard policy check --config FILE msisdn NUMBER
                                            print the decision and the rule; exit 0 allow, 1 deny
  regguard config sample                    print the sample configuration, generated from the schema
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

function policyCheck (config: LoadedConfig, medium: string | undefined, address: string | undefined): number {
  if ((medium !== 'email' && medium !== 'msisdn') || address === undefined) throw new UsageError('policy check needs: email ADDRESS or msisdn NUMBER')
  const canonical = medium === 'email' ? canonicalEmail(address) : canonicalMsisdnNumber(address)
  if (!canonical.ok) fail(`cannot parse ${medium} ${JSON.stringify(address)}: ${canonical.reason}`)
  const decision = decide(config.policy, medium as Medium, canonical.address, null)
  process.stdout.write(`${decision.allowed ? 'allow' : 'deny'} ${medium} ${canonical.address}: ${describeDecision(decision)}\n`)
  return decision.allowed ? 0 : 1
}

export async function main (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true
  })
  if (values.help === true) { process.stdout.write(USAGE); return 0 }
  const [command = 'serve', ...rest] = positionals
  switch (command) {
    case 'serve':
      await serve(values.config ?? process.env.REGGUARD_CONFIG ?? null)
      return -1 // keeps running
    case 'check-config': {
      const config = load(values.config)
      process.stdout.write(`configuration ${config.file ?? '(defaults)'} is valid\n`)
      return 0
    }
    case 'policy':
      if (rest[0] !== 'check') throw new UsageError('unknown policy command')
      return policyCheck(load(values.config), rest[1], rest[2])
    case 'config':
      if (rest[0] !== 'sample') throw new UsageError('unknown config command')
      process.stdout.write(sampleConfig())
      return 0
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
