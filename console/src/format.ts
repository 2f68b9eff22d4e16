// Small display helpers shared by the pages.

export function when (ms: number): string {
  const d = new Date(ms)
  const pad = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

export function duration (ms: number): string {
  const units: Array<[number, string]> = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute'], [1000, 'second']]
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) { const n = ms / size; return `${n} ${name}${n === 1 ? '' : 's'}` }
  }
  return `${ms} ms`
}

export function inviteState (i: { revoked_at: number | null, expires_at: number }, now = Date.now()): 'revoked' | 'expired' | 'pending' {
  return i.revoked_at !== null ? 'revoked' : i.expires_at <= now ? 'expired' : 'pending'
}

export function errorText (err: unknown): string {
  if (err instanceof Error) {
    const e = err as Error & { errcode?: string }
    return e.errcode !== undefined ? `${e.message} (${e.errcode})` : e.message
  }
  return String(err)
}
