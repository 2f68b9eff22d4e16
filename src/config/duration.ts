// Durations in configuration and on the command line: milliseconds as a number, or a string
// such as "7 days", "12 hours", "90 minutes", "1 week", "500 ms" (convict's old duration syntax).

const UNIT_MS: Record<string, number> = {
  ms: 1, millisecond: 1, second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000
}

/** Milliseconds, or null when it is not a duration. */
export function parseDuration (v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null
  if (typeof v !== 'string') return null
  const s = v.trim()
  if (/^[0-9]+$/.test(s)) return parseDuration(Number(s))
  const m = /^([0-9]+)\s*([a-z]+?)s?$/i.exec(s)
  if (m === null) return null
  const unit = UNIT_MS[(m[2] as string).toLowerCase()]
  if (unit === undefined) return null
  const ms = Number(m[1]) * unit
  return Number.isSafeInteger(ms) ? ms : null
}
