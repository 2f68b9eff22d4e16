// Header handling for a transparent proxy: hop-by-hop headers are the connection's, not the
// message's (RFC 9110 7.6.1), so they are dropped both ways; everything else passes as it came.

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer',
  'upgrade', 'proxy-authorization', 'proxy-authenticate', 'expect', 'http2-settings'
])

function connectionTokens (value: string | undefined): Set<string> | null {
  if (value === undefined) return null
  // nearly every message says just one of these: skip the split on the hot path
  if (value.length <= 10) {
    const v = value.toLowerCase()
    if (v === 'keep-alive' || v === 'close') return null
  }
  const tokens = value.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== 'close' && s !== 'keep-alive')
  return tokens.length === 0 ? null : new Set(tokens)
}

export interface ForwardedFor {
  /** The peer is a trusted proxy: keep its X-Forwarded-* and append to the chain. */
  trusted: boolean
  remoteAddress: string
}

/**
 * Request headers for the homeserver, as a flat [name, value, ...] list in arrival order:
 * hop-by-hop removed, X-Forwarded-For / -Proto set for the client.
 */
export function upstreamRequestHeaders (raw: string[], connection: string | undefined, fwd: ForwardedFor): string[] {
  const extra = connectionTokens(connection)
  const out: string[] = []
  let xff: string | undefined
  let xfp: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    const value = raw[i + 1] as string
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || (extra !== null && extra.has(lower))) continue
    if (lower.startsWith('x-forwarded-')) {
      if (!fwd.trusted) continue
      if (lower === 'x-forwarded-for') { xff = xff === undefined ? value : `${xff}, ${value}`; continue }
      if (lower === 'x-forwarded-proto') { xfp ??= value; continue }
    }
    out.push(name, value)
  }
  out.push('X-Forwarded-For', xff === undefined ? fwd.remoteAddress : `${xff}, ${fwd.remoteAddress}`)
  out.push('X-Forwarded-Proto', xfp ?? 'http')
  return out
}

const text = (v: Buffer | string): string => typeof v === 'string' ? v : v.toString('latin1')

/** Response headers for the client from undici's raw headers (buffers or strings), hop-by-hop removed. */
export function clientResponseHeaders (raw: ReadonlyArray<Buffer | string>): string[] {
  const out: string[] = []
  let extra: Set<string> | null = null
  for (let i = 0; i < raw.length; i += 2) {
    const name = text(raw[i] as Buffer | string)
    const lower = name.toLowerCase()
    if (lower === 'connection') { extra = connectionTokens(text(raw[i + 1] as Buffer | string)); continue }
    if (HOP_BY_HOP.has(lower)) continue
    out.push(name, text(raw[i + 1] as Buffer | string))
  }
  if (extra === null) return out
  const kept: string[] = []
  for (let i = 0; i < out.length; i += 2) {
    if (!extra.has((out[i] as string).toLowerCase())) kept.push(out[i] as string, out[i + 1] as string)
  }
  return kept
}
