import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

// A stand-in homeserver on a real port that keeps the Synapse behaviours invite learning
// depends on (shared/reference/synapse-parsing-facts.md, "PUT transactions" and "Answers that
// do not mean what they say"):
// - access tokens belong to (user, device); appservice tokens masquerade with ?user_id=;
// - GET /account/whoami names the requester;
// - PUT .../{txnId} goes through a transaction cache keyed on the raw path + requester (user
//   and device; guest user; appservice id): a known key gets the cached answer and its body is
//   never looked at; concurrent requests with one key share the first one's execution; an
//   execution that fails is forgotten;
// - room invites and createRoom's invite_3pid make 3PID invites (recorded in `invitesMade`),
//   except for shadow-banned users, who are answered 200 as if they had;
// - the admin API GET /_synapse/admin/v2/users/{userId} with an admin's token.
// It records every request (`received`) and the bytes of request bodies as they arrive.

export interface SynapseReceived {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: Buffer
}

export interface ThreepidInviteMade { by: string, medium: string, address: string, room_id: string }

interface Account { user_id: string, shadowBanned: boolean, deactivated: boolean, admin: boolean }
interface TokenInfo { user_id: string, device_id: string | null, guest: boolean, appservice: string | null }
interface Answer { status: number, body: unknown }

export interface SynapseLike {
  url: string
  port: number
  serverName: string
  received: SynapseReceived[]
  receivedMatching: (text: string) => SynapseReceived[]
  /** 3PID invites the homeserver actually made */
  invitesMade: ThreepidInviteMade[]
  /** Times a room invite or createRoom was executed (not answered from the transaction cache) */
  executions: number
  /** Request body bytes received so far, counted as they arrive */
  bodyBytesIn: number
  /** Creates the account (once) and a device with a fresh access token; returns the token */
  login: (localpart: string, deviceId?: string) => string
  guest: (localpart: string) => string
  /** An appservice token: its sender, and any local user it names with ?user_id= */
  appservice: (id: string, senderLocalpart: string) => string
  /** A server admin's token, for homeserver.admin_token */
  adminToken: string
  setShadowBanned: (userId: string, on: boolean) => void
  /** Marks the account deactivated; its tokens keep working when `tokensStillWork` (a deactivation in progress) */
  deactivate: (userId: string, tokensStillWork?: boolean) => void
  /** Holds each invite/createRoom execution this long (so a second request can arrive meanwhile) */
  executionDelayMs: number
  /** The next invite/createRoom executions fail with this answer */
  failNext: (n: number, status?: number) => void
  userId: (localpart: string) => string
  close: () => Promise<void>
}

const INVITE = /^\/_matrix\/client\/(?:api\/v1|r0|v3|unstable)\/rooms\/([^/]*)\/invite(?:\/([^/]*))?$/
const CREATE = /^\/_matrix\/client\/(?:api\/v1|r0|v3|unstable)\/createRoom(?:\/([^/]*))?$/
const WHOAMI = /^\/_matrix\/client\/(?:r0|v3|unstable)\/account\/whoami$/
const ADMIN_USER = /^\/_synapse\/admin\/v2\/users\/([^/]+)$/

function error (status: number, errcode: string, message: string): Answer {
  return { status, body: { errcode, error: message } }
}

export async function startSynapseLike (t?: { teardown: (fn: () => unknown) => void }, serverName = 'example.org'): Promise<SynapseLike> {
  const accounts = new Map<string, Account>()
  const tokens = new Map<string, TokenInfo>()
  const txnCache = new Map<string, Promise<Answer>>()
  let failures: Array<number> = []
  let rooms = 0
  const userId = (localpart: string): string => `@${localpart}:${serverName}`
  const account = (id: string): Account => {
    let a = accounts.get(id)
    if (a === undefined) { a = { user_id: id, shadowBanned: false, deactivated: false, admin: false }; accounts.set(id, a) }
    return a
  }
  const newToken = (info: TokenInfo): string => {
    const tok = 'syt_' + randomBytes(12).toString('hex')
    tokens.set(tok, info)
    return tok
  }

  /** The requester as Synapse's auth finds it, or the error it answers. */
  const requester = (req: IncomingMessage, query: URLSearchParams): { user_id: string, device_id: string | null, guest: boolean, appservice: string | null } | Answer => {
    const auth = req.headers.authorization
    if (auth !== undefined && query.has('access_token')) return error(401, 'M_MISSING_TOKEN', 'Mixing Authorization headers and access_token query parameters.')
    const token = auth !== undefined ? /^Bearer (\S+)$/.exec(auth)?.[1] : query.get('access_token') ?? undefined
    if (token === undefined) return error(401, 'M_MISSING_TOKEN', 'Missing access token.')
    const info = tokens.get(token)
    if (info === undefined) return error(401, 'M_UNKNOWN_TOKEN', 'Invalid access token passed.')
    if (info.appservice !== null) {
      const masq = query.get('user_id')
      if (masq === null) return { ...info }
      if (!masq.endsWith(`:${serverName}`)) return error(403, 'M_FORBIDDEN', 'Application service cannot masquerade as this user')
      account(masq)
      return { user_id: masq, device_id: null, guest: false, appservice: info.appservice }
    }
    if (account(info.user_id).deactivated && !tokensOfDeactivatedWork.has(info.user_id)) return error(401, 'M_UNKNOWN_TOKEN', 'Invalid access token passed.')
    return { ...info }
  }
  const tokensOfDeactivatedWork = new Set<string>()

  const sl: Partial<SynapseLike> = { received: [], invitesMade: [], executions: 0, bodyBytesIn: 0, executionDelayMs: 0, serverName }

  const execute = async (by: string, what: 'invite' | 'create', rawRoomId: string | null, body: Buffer): Promise<Answer> => {
    sl.executions = (sl.executions ?? 0) + 1
    if ((sl.executionDelayMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, sl.executionDelayMs))
    const fail = failures.shift()
    if (fail !== undefined) return error(fail, 'M_UNKNOWN', 'Internal server error')
    let parsed: Record<string, unknown>
    try { parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown> } catch { return error(400, 'M_NOT_JSON', 'Content not JSON.') }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return error(400, 'M_BAD_JSON', 'Content must be a JSON object.')
    const banned = account(by).shadowBanned
    if (what === 'invite') {
      const roomId = decodeURIComponent(rawRoomId ?? '')
      // ShadowBanError is swallowed: "pretend the request succeeded"
      if (typeof parsed.medium === 'string' && typeof parsed.address === 'string' && !banned) {
        sl.invitesMade?.push({ by, medium: parsed.medium, address: parsed.address, room_id: roomId })
      }
      return { status: 200, body: {} }
    }
    const roomId = `!r${++rooms}:${serverName}`
    // a shadow-banned creator's room is made without its invites
    if (Array.isArray(parsed.invite_3pid) && !banned) {
      for (const e of parsed.invite_3pid as Array<Record<string, unknown>>) {
        if (e !== null && typeof e === 'object' && typeof e.medium === 'string' && typeof e.address === 'string') sl.invitesMade?.push({ by, medium: e.medium, address: e.address, room_id: roomId })
      }
    }
    return { status: 200, body: { room_id: roomId } }
  }

  const handle = async (req: IncomingMessage, body: Buffer): Promise<Answer> => {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1))
    const method = req.method ?? 'GET'
    // Twisted: a form POST's body arguments replace the query's, name by name
    const ctype = req.rawHeaders.find((_h, i) => i % 2 === 1 && req.rawHeaders[i - 1]?.toLowerCase() === 'content-type')
    if (method === 'POST' && ctype?.split(';')[0]?.trim() === 'application/x-www-form-urlencoded' && body.length > 0) {
      const form = new URLSearchParams(body.toString('latin1'))
      for (const k of new Set(form.keys())) { query.delete(k); for (const v of form.getAll(k)) query.append(k, v) }
    }
    if (method === 'POST' && /\/requestToken$/.test(path)) return { status: 200, body: { sid: 'sid' + randomBytes(4).toString('hex') } }
    if (method === 'GET' && WHOAMI.test(path)) {
      const r = requester(req, query)
      if ('status' in r) return r
      return { status: 200, body: { user_id: r.user_id, ...(r.device_id !== null ? { device_id: r.device_id } : {}), is_guest: r.guest } }
    }
    const admin = method === 'GET' ? ADMIN_USER.exec(path) : null
    if (admin !== null) {
      const r = requester(req, query)
      if ('status' in r) return r
      if (!account(r.user_id).admin) return error(403, 'M_FORBIDDEN', 'You are not a server admin')
      const a = accounts.get(decodeURIComponent(admin[1] as string))
      if (a === undefined) return error(404, 'M_NOT_FOUND', 'User not found')
      return { status: 200, body: { name: a.user_id, admin: a.admin, deactivated: a.deactivated ? 1 : 0, shadow_banned: a.shadowBanned ? 1 : 0, is_guest: false } }
    }
    const inv = INVITE.exec(path)
    const cr = inv === null ? CREATE.exec(path) : null
    if (inv === null && cr === null) return error(404, 'M_UNRECOGNIZED', 'Unrecognized request')
    const txn = inv !== null ? inv[2] : cr?.[1]
    if ((method === 'PUT') !== (txn !== undefined) || (method !== 'PUT' && method !== 'POST')) return error(405, 'M_UNRECOGNIZED', 'Unrecognized request')
    const r = requester(req, query)
    if ('status' in r) return r
    const run = (): Promise<Answer> => execute(r.user_id, inv !== null ? 'invite' : 'create', inv?.[1] ?? null, body)
    if (method === 'POST') return await run()
    // HttpTransactionCache: raw path + requester
    const key = JSON.stringify(r.guest ? [path, 'guest', r.user_id] : r.appservice !== null ? [path, 'appservice', r.appservice] : [path, 'user', r.user_id, r.device_id])
    const cached = txnCache.get(key)
    if (cached !== undefined) return await cached
    const p = run()
    txnCache.set(key, p)
    const answer = await p
    if (answer.status >= 400) txnCache.delete(key)
    return answer
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => { sl.bodyBytesIn = (sl.bodyBytesIn ?? 0) + c.length; chunks.push(c) })
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      sl.received?.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      handle(req, body).then((a) => {
        const text = JSON.stringify(a.body)
        res.writeHead(a.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
        res.end(text)
      }, (err) => { res.destroy(err as Error) })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const adminId = userId('admin')
  account(adminId).admin = true
  const adminToken = newToken({ user_id: adminId, device_id: 'ADMINDEV', guest: false, appservice: null })
  Object.assign(sl, {
    url: `http://127.0.0.1:${port}`,
    port,
    adminToken,
    userId,
    receivedMatching: (text: string) => (sl.received ?? []).filter((r) => r.url.includes(text)),
    login: (localpart: string, deviceId = 'DEV' + randomBytes(3).toString('hex').toUpperCase()) => {
      account(userId(localpart))
      return newToken({ user_id: userId(localpart), device_id: deviceId, guest: false, appservice: null })
    },
    guest: (localpart: string) => { account(userId(localpart)); return newToken({ user_id: userId(localpart), device_id: 'GUESTDEV', guest: true, appservice: null }) },
    appservice: (id: string, senderLocalpart: string) => { account(userId(senderLocalpart)); return newToken({ user_id: userId(senderLocalpart), device_id: null, guest: false, appservice: id }) },
    setShadowBanned: (id: string, on: boolean) => { account(id).shadowBanned = on },
    deactivate: (id: string, tokensStillWork = false) => { account(id).deactivated = true; if (tokensStillWork) tokensOfDeactivatedWork.add(id) },
    failNext: (n: number, status = 500) => { failures = Array.from({ length: n }, () => status) },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  })
  t?.teardown(() => (sl as SynapseLike).close())
  return sl as SynapseLike
}
