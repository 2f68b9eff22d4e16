import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

// A stand-in for the Matrix Authentication Service's parts regguard talks to, on loopback,
// written from element-hq/matrix-authentication-service: the discovery document
// (/.well-known/openid-configuration), the token endpoint (client_credentials, a client
// authenticated by client_secret_basic, the scope urn:mas:admin), and the policy-data admin API
// (crates/handlers/src/admin/v1/policy_data/: POST answers 201 with the stored document, 400
// {"errors": [{"title": ...}, ...]} when the policy cannot load the data (here: the merge fails,
// or the test's refuse() says so), the old data staying;
// GET .../latest). The pushed document is merged into the static data as MAS's merge_data does
// (crates/policy/src/lib.rs): objects recursively, arrays appended, scalars replaced.

export const ADMIN_SCOPE = 'urn:mas:admin'

export interface StandinOptions {
  clientId: string
  clientSecret: string
  /** Scopes the client may be granted (default: urn:mas:admin) */
  clientScopes?: string[]
  /** policy.data in MAS's configuration */
  staticData?: Record<string, unknown>
  /** Seconds a token lives (default 300) */
  tokenTtl?: number
  /** Another reason to refuse a document (400), after MAS's own checks */
  refuse?: (data: unknown) => string | null
}

export interface PushRecord { id: string, data: unknown, at: number }

export interface MasStandin {
  url: string
  pushes: PushRecord[]
  tokenRequests: Array<{ status: number, scope: string | null }>
  refusals: string[]
  /** What MAS's policy evaluates now: static data merged with the latest accepted push */
  merged: () => Record<string, unknown>
  set: (o: Partial<Pick<StandinOptions, 'refuse' | 'clientSecret'>>) => void
  /** Tokens handed out are no longer taken (MAS restarted with other keys, say) */
  revokeTokens: () => void
  close: () => Promise<void>
}

const MAX_BODY = 32 * 1024 * 1024

function ulid (): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
  return [...randomBytes(26)].map((b) => alphabet[b % 32]).join('')
}

function kind (v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v
}

/** merge_data_rec: throws "Cannot merge a X into a Y" where MAS does. */
export function mergeData (left: unknown, right: unknown): unknown {
  if (kind(left) === 'object' && kind(right) === 'object') {
    const out: Record<string, unknown> = { ...(left as Record<string, unknown>) }
    for (const [k, v] of Object.entries(right as Record<string, unknown>)) out[k] = Object.hasOwn(out, k) ? mergeData(out[k], v) : v
    return out
  }
  if (kind(left) === 'array' && kind(right) === 'array') return [...(left as unknown[]), ...(right as unknown[])]
  if (kind(left) === kind(right) && ['number', 'boolean', 'string'].includes(kind(left))) return right
  if (left === null || right === null) return right
  throw new Error(`Cannot merge a ${kind(right)} into a ${kind(left)}`)
}

async function readBody (req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) return null
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

function json (res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

export async function masStandin (opts: StandinOptions): Promise<MasStandin> {
  const o = { ...opts }
  const tokens = new Map<string, { scope: string[], expiresAt: number }>()
  const pushes: PushRecord[] = []
  const tokenRequests: MasStandin['tokenRequests'] = []
  const refusals: string[] = []
  const staticData = o.staticData ?? {}
  let latest: PushRecord | null = null
  let base = ''

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      json(res, 200, { issuer: base, token_endpoint: `${base}oauth2/token`, token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'], grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'] })
      return
    }
    if (req.method === 'POST' && path === '/oauth2/token') {
      const form = new URLSearchParams((await readBody(req))?.toString('utf8') ?? '')
      const scope = form.get('scope')
      const answer = (status: number, body: unknown): void => { tokenRequests.push({ status, scope }); json(res, status, body) }
      const auth = /^Basic (.+)$/.exec(req.headers.authorization ?? '')
      const [id, secret] = auth !== null ? Buffer.from(auth[1] as string, 'base64').toString('utf8').split(':').map((s) => decodeURIComponent(s.replace(/\+/g, ' '))) : []
      if (id !== o.clientId || secret !== o.clientSecret) { answer(401, { error: 'invalid_client', error_description: 'client authentication failed' }); return }
      if (form.get('grant_type') !== 'client_credentials') { answer(400, { error: 'unsupported_grant_type' }); return }
      const wanted = (scope ?? '').split(' ').filter((s) => s !== '')
      const allowed = o.clientScopes ?? [ADMIN_SCOPE]
      if (wanted.length === 0 || !wanted.every((s) => allowed.includes(s))) { answer(400, { error: 'invalid_scope' }); return }
      const token = `mat_${randomBytes(18).toString('hex')}`
      const ttl = o.tokenTtl ?? 300
      tokens.set(token, { scope: wanted, expiresAt: Date.now() + ttl * 1000 })
      answer(200, { access_token: token, token_type: 'Bearer', expires_in: ttl, scope: wanted.join(' ') })
      return
    }
    if (path.startsWith('/api/admin/v1/')) {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
      const t = bearer !== undefined ? tokens.get(bearer) : undefined
      if (t === undefined || t.expiresAt < Date.now()) { json(res, 401, { errors: [{ title: 'Missing or invalid access token' }] }); return }
      if (!t.scope.includes(ADMIN_SCOPE)) { json(res, 401, { errors: [{ title: 'Missing urn:mas:admin scope' }] }); return }
      if (req.method === 'GET' && path === '/api/admin/v1/policy-data/latest') {
        if (latest === null) { json(res, 404, { errors: [{ title: 'No policy data' }] }); return }
        json(res, 200, { data: { type: 'policy-data', id: latest.id, attributes: { created_at: new Date(latest.at).toISOString(), data: latest.data } } })
        return
      }
      if (req.method === 'POST' && path === '/api/admin/v1/policy-data') {
        const raw = await readBody(req)
        let body: unknown
        try { body = JSON.parse(raw?.toString('utf8') ?? '') } catch { json(res, 400, { errors: [{ title: 'Failed to deserialize the JSON body' }] }); return }
        if (body === null || typeof body !== 'object' || !('data' in body)) { json(res, 422, { errors: [{ title: 'missing field `data`' }] }); return }
        const data = (body as { data: unknown }).data
        let why: string | null = null
        try {
          // MAS instantiates its policy with the merged data here; that compiles no regex (a bad
          // one fails each evaluation later, not this request)
          mergeData(staticData, data)
          why = o.refuse?.(data) ?? null
        } catch (err) {
          why = (err as Error).message
        }
        if (why !== null) {
          refusals.push(why)
          json(res, 400, { errors: [{ title: 'Failed to instanciate policy with the provided data' }, { title: why }] })
          return
        }
        latest = { id: ulid(), data, at: Date.now() }
        pushes.push(latest)
        json(res, 201, { data: { type: 'policy-data', id: latest.id, attributes: { created_at: new Date(latest.at).toISOString(), data }, links: { self: `/api/admin/v1/policy-data/${latest.id}` } }, links: { self: `/api/admin/v1/policy-data/${latest.id}` } })
        return
      }
    }
    json(res, 404, { errors: [{ title: 'Not found' }] })
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => { if (!res.headersSent) json(res, 500, { errors: [{ title: err.message }] }) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  return {
    url: base,
    pushes,
    tokenRequests,
    refusals,
    merged: () => mergeData(staticData, latest?.data ?? {}) as Record<string, unknown>,
    set: (next) => { Object.assign(o, next) },
    revokeTokens: () => { tokens.clear() },
    close: async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => { resolve() })) }
  }
}
