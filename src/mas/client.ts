import { request, type Dispatcher } from 'undici'

// Matrix Authentication Service's admin API, as regguard uses it: the token endpoint named by
// MAS's discovery document, a client_credentials grant for the scope urn:mas:admin, and
// POST /api/admin/v1/policy-data (crates/handlers/src/admin/v1/policy_data/set.rs in
// element-hq/matrix-authentication-service): 201 with the stored document, 400 when MAS's
// policy cannot load the data (MAS keeps the data it had).

export const ADMIN_SCOPE = 'urn:mas:admin'
/** The most of an answer read from MAS (its answers to regguard are small JSON documents) */
const MAX_ANSWER_BYTES = 64 * 1024
/** The most of MAS's error text kept for logs, /ready and the CLI */
export const MAX_MESSAGE_CHARS = 500
/** A token is renewed this long before MAS says it expires */
const TOKEN_MARGIN_MS = 30_000

/** MAS answered that it cannot load the data (400): a fault of the document, not of the link */
export class MasRefusedError extends Error {
  constructor (message: string) { super(message) }
}

/** MAS could not be reached, or answered otherwise than its API says */
export class MasUnavailableError extends Error {
  constructor (message: string) { super(message) }
}

export interface MasClientOptions {
  /** mas.url */
  url: string
  clientId: string
  clientSecret: string
  timeoutMs: number
  dispatcher?: Dispatcher
}

export interface Pushed { id: string | null }

const bound = (s: string): string => s.length > MAX_MESSAGE_CHARS ? `${s.slice(0, MAX_MESSAGE_CHARS)}…` : s

function describe (err: unknown): string {
  const e = err as { code?: string, message?: string, cause?: { code?: string } }
  return bound(e.cause?.code ?? e.code ?? e.message ?? String(err))
}

// RFC 6749 2.3.1: the id and secret are form-encoded before they are joined for Basic
const formEncode = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+')

/** MAS's error document: {"errors": [{"title": ...}, ...]}, each cause after the error. */
function masMessage (body: unknown, status: number): string {
  const errors = (body as { errors?: unknown } | null)?.errors
  if (Array.isArray(errors)) {
    const titles = errors.map((e) => (e as { title?: unknown })?.title).filter((t): t is string => typeof t === 'string')
    if (titles.length > 0) return bound(titles.join(': '))
  }
  return `HTTP ${status}`
}

export class MasClient {
  private tokenEndpoint: string | null = null
  private token: { value: string, expiresAt: number } | null = null

  constructor (private readonly o: MasClientOptions) {}

  private endpoint (path: string): string {
    const base = this.o.url.endsWith('/') ? this.o.url : `${this.o.url}/`
    return new URL(path, base).toString()
  }

  private async call (url: string, init: { method: 'GET' | 'POST', headers: Record<string, string>, body?: string }): Promise<{ status: number, body: unknown }> {
    const signal = AbortSignal.timeout(this.o.timeoutMs)
    let res: Dispatcher.ResponseData
    try {
      res = await request(url, { ...init, signal, ...(this.o.dispatcher !== undefined ? { dispatcher: this.o.dispatcher } : {}) })
    } catch (err) {
      throw new MasUnavailableError(`${init.method} ${url}: ${signal.aborted ? `no answer within ${this.o.timeoutMs} ms` : describe(err)}`)
    }
    const chunks: Buffer[] = []
    let size = 0
    try {
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length
        if (size > MAX_ANSWER_BYTES) { res.body.destroy(); throw new MasUnavailableError(`${init.method} ${url}: answer larger than ${MAX_ANSWER_BYTES} bytes`) }
        chunks.push(chunk as Buffer)
      }
    } catch (err) {
      if (err instanceof MasUnavailableError) throw err
      throw new MasUnavailableError(`${init.method} ${url}: ${signal.aborted ? `answer not complete within ${this.o.timeoutMs} ms` : describe(err)}`)
    }
    const text = Buffer.concat(chunks).toString('utf8')
    let body: unknown = null
    try { body = text === '' ? null : JSON.parse(text) } catch { body = null }
    return { status: res.statusCode, body }
  }

  /** The token endpoint, from MAS's /.well-known/openid-configuration (asked once). */
  async discover (): Promise<string> {
    if (this.tokenEndpoint !== null) return this.tokenEndpoint
    const url = this.endpoint('.well-known/openid-configuration')
    const r = await this.call(url, { method: 'GET', headers: { accept: 'application/json' } })
    if (r.status !== 200) throw new MasUnavailableError(`GET ${url}: HTTP ${r.status}`)
    const endpoint = (r.body as { token_endpoint?: unknown } | null)?.token_endpoint
    let parsed: URL | null = null
    try { parsed = typeof endpoint === 'string' ? new URL(endpoint) : null } catch { parsed = null }
    if (parsed === null || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) throw new MasUnavailableError(`GET ${url}: no http(s) token_endpoint in the discovery document`)
    this.tokenEndpoint = parsed.toString()
    return this.tokenEndpoint
  }

  /** An access token with the admin scope, by client_credentials (kept until shortly before it expires). */
  async accessToken (): Promise<string> {
    if (this.token !== null && Date.now() < this.token.expiresAt) return this.token.value
    const endpoint = await this.discover()
    const basic = Buffer.from(`${formEncode(this.o.clientId)}:${formEncode(this.o.clientSecret)}`).toString('base64')
    const r = await this.call(endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: ADMIN_SCOPE }).toString()
    })
    const b = r.body as { access_token?: unknown, expires_in?: unknown, scope?: unknown, error?: unknown, error_description?: unknown } | null
    if (r.status !== 200 || typeof b?.access_token !== 'string') {
      const why = typeof b?.error === 'string' ? `${b.error}${typeof b.error_description === 'string' ? `: ${b.error_description}` : ''}` : `HTTP ${r.status}`
      throw new MasUnavailableError(`token request to ${endpoint} refused: ${bound(why)} (mas.client_id, mas.client_secret and the client's grant and scope in MAS's configuration)`)
    }
    if (typeof b.scope === 'string' && !b.scope.split(' ').includes(ADMIN_SCOPE)) throw new MasUnavailableError(`token from ${endpoint} lacks the scope ${ADMIN_SCOPE} (granted: ${bound(b.scope)})`)
    const ttl = typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in * 1000 : 60_000
    this.token = { value: b.access_token, expiresAt: Date.now() + Math.max(0, ttl - TOKEN_MARGIN_MS) }
    return this.token.value
  }

  /** POST /api/admin/v1/policy-data; a token MAS no longer takes is renewed once. */
  async pushPolicyData (body: string): Promise<Pushed> {
    const url = this.endpoint('api/admin/v1/policy-data')
    for (let attempt = 0; ; attempt++) {
      const token = await this.accessToken()
      const r = await this.call(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' }, body })
      if (r.status === 201) {
        const id = (r.body as { data?: { id?: unknown } } | null)?.data?.id
        return { id: typeof id === 'string' ? bound(id) : null }
      }
      if (r.status === 401 && attempt === 0) { this.token = null; continue }
      if (r.status === 400) throw new MasRefusedError(masMessage(r.body, r.status))
      throw new MasUnavailableError(`POST ${url}: ${masMessage(r.body, r.status)}`)
    }
  }
}
