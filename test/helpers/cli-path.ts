import { fileURLToPath } from 'node:url'

/** The command as built (package.json's bin): tsc's output of src/cli.ts */
export const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url))

/** node's arguments to start the command: the test's own node flags, then the file */
export function asInstalled (nodeArgs: readonly string[] = []): string[] {
  return [...nodeArgs, CLI]
}
