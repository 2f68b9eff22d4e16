// Whose invites may teach (invites.learn.inviters): user IDs or globs, "*" any run of
// characters, "?" exactly one. Matched against the whole user ID, case-sensitively (Matrix user
// IDs are compared exactly).

function globRegExp (glob: string): RegExp {
  let re = ''
  for (const ch of glob) {
    if (ch === '*') re += '[\\s\\S]*'
    else if (ch === '?') re += '[\\s\\S]'
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 'u')
}

/** The configured patterns, or the homeserver's local users when none are configured. */
export function inviterPatterns (configured: string[] | null, serverName: string): string[] {
  return configured ?? [`@*:${serverName}`]
}

export function inviterMatcher (patterns: readonly string[]): (userId: string) => boolean {
  const exact = new Set(patterns.filter((p) => !/[*?]/.test(p)))
  const globs = patterns.filter((p) => /[*?]/.test(p)).map(globRegExp)
  return (userId) => exact.has(userId) || globs.some((g) => g.test(userId))
}

/** Shaped like a Matrix user ID: "@", a localpart, ":", a server name. Compared exactly afterwards. */
export function isUserId (s: string): boolean {
  return s.length <= 255 && /^@[^:\s]+:\S+$/.test(s)
}
