// The errors commands end with, apart from the commands themselves: src/cli/main.ts tells them
// apart without loading every command's module (a cluster's primary, say, loads none of them).

export class CommandError extends Error {
  constructor (message: string, readonly exitCode = 1) { super(message) }
}

/** Wrong arguments: exit 2 with the usage text. */
export class CommandUsageError extends CommandError {
  constructor (message: string) { super(message, 2) }
}

/** `regguard lists` with no known subcommand */
export class ListsUsageError extends Error {}
