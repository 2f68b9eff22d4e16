// The errors commands end with, apart from the commands themselves: src/cli/main.ts tells them
// apart without loading every command's module (a cluster's primary, say, loads none of them).

/**
 * A command that could not do what it was asked: by default exit 3 (rejected input, not found);
 * 2 for the configuration or the store. 1 is kept for "deny" (policy check).
 */
export class CommandError extends Error {
  constructor (message: string, readonly exitCode = 3) { super(message) }
}

/** Wrong arguments: exit 2, with the hint to the command's usage. */
export class CommandUsageError extends CommandError {
  constructor (message: string) { super(message, 2) }
}

/** `regguard lists` with no known subcommand */
export class ListsUsageError extends Error {}
