import { Agent, interceptors, request, type Dispatcher } from 'undici'

// One conditional GET of a list, bounded in time and size.

export type Fetched =
  | { kind: 'body', body: Buffer, etag: string | null, lastModified: string | null, contentType: string | undefined }
  | { kind: 'not-modified' }
  | { kind: 'error', why: string }

export interface FetchOptions {
  etag: string | null
  lastModified: string | null
  timeoutMs: number
  maxBytes: number
  dispatcher: Dispatcher
}

export function listAgent (): Dispatcher {
  // list hosts move files about (GitHub, CDNs); a few redirects are followed
  return new Agent({ connections: 4 }).compose(interceptors.redirect({ maxRedirections: 5 }))
}

const header = (h: Record<string, string | string[] | undefined>, name: string): string | null => {
  const v = h[name]
  return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? null) : null
}

export async function fetchList (url: string, o: FetchOptions): Promise<Fetched> {
  const headers: Record<string, string> = { 'user-agent': 'regguard (domain list refresh)', accept: 'text/plain, */*;q=0.5' }
  if (o.etag !== null) headers['if-none-match'] = o.etag
  if (o.lastModified !== null) headers['if-modified-since'] = o.lastModified
  const signal = AbortSignal.timeout(o.timeoutMs)
  let res: Dispatcher.ResponseData
  try {
    res = await request(url, { method: 'GET', headers, signal, dispatcher: o.dispatcher })
  } catch (err) {
    return { kind: 'error', why: signal.aborted ? `no answer within ${o.timeoutMs} ms` : describe(err) }
  }
  const h = res.headers
  if (res.statusCode === 304) { await res.body.dump(); return { kind: 'not-modified' } }
  if (res.statusCode !== 200) { await res.body.dump(); return { kind: 'error', why: `HTTP ${res.statusCode}` } }
  const declared = Number(header(h, 'content-length') ?? NaN)
  if (declared > o.maxBytes) { res.body.destroy(); return { kind: 'error', why: `larger than lists.max_bytes (${declared} > ${o.maxBytes} bytes)` } }
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length
      if (size > o.maxBytes) { res.body.destroy(); return { kind: 'error', why: `larger than lists.max_bytes (more than ${o.maxBytes} bytes)` } }
      chunks.push(chunk as Buffer)
    }
  } catch (err) {
    return { kind: 'error', why: signal.aborted ? `body not complete within ${o.timeoutMs} ms` : describe(err) }
  }
  return { kind: 'body', body: Buffer.concat(chunks), etag: header(h, 'etag'), lastModified: header(h, 'last-modified'), contentType: header(h, 'content-type') ?? undefined }
}

function describe (err: unknown): string {
  const e = err as { code?: string, message?: string, cause?: { code?: string } }
  return e.cause?.code ?? e.code ?? e.message ?? String(err)
}
