import { asInstalled as commandArgs } from '../../src/cli/as-installed.js'
import { fileURLToPath } from 'node:url'

/** The command as installed (package.json's bin): the bundle scripts/bundle-cli.mjs builds from dist/src/cli.js */
export const CLI = fileURLToPath(new URL('../../dist/regguard/cli.js', import.meta.url))

/** node's arguments to start the command as installed: its shebang's flags, the test's, the file */
export function asInstalled (nodeArgs: readonly string[] = []): string[] {
  return commandArgs(CLI, nodeArgs)
}
