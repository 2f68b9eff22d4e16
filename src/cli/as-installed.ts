import { closeSync, openSync, readSync } from 'node:fs'

// Not in src/cli/compilers.ts: that is bundled into the command's first file, which must import
// nothing that node would resolve before its first statement.

/** node's flags from a command file's `#!/usr/bin/env -S node FLAGS` line */
export function shebangFlags (file: string): string[] {
  const fd = openSync(file, 'r')
  const head = Buffer.alloc(256)
  try { readSync(fd, head, 0, head.length, 0) } finally { closeSync(fd) }
  const line = head.toString('latin1').split('\n')[0] as string
  const m = /^#!\/usr\/bin\/env(?: -S)? node((?: [^ ]+)*)$/.exec(line)
  if (m === null) throw new Error(`${file}: no node shebang on its first line`)
  return (m[1] as string).split(' ').filter((a) => a !== '')
}

/**
 * node's arguments to start a command file as the kernel would start it, with the caller's node
 * and its own flags after the shebang's: how the tests and the bench start the installed command.
 */
export function asInstalled (file: string, nodeArgs: readonly string[] = []): string[] {
  return [...shebangFlags(file), ...nodeArgs, file]
}
