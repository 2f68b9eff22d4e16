// Which requests regguard polices, decided exactly as Synapse routes them: on the raw request
// target (never percent-decoded or normalised), case-sensitive, anchored, query excluded.

export type Endpoint = 'register' | 'account'

export interface TokenRoute {
  kind: 'requestToken'
  endpoint: Endpoint
  medium: 'email' | 'msisdn'
}

/** A 3PID invite may pass here: forwarded as received, recorded when the homeserver accepts it. */
export interface InviteRoute {
  kind: 'invite'
  /** rooms/{roomId}/invite (room id as it appears, still percent-encoded) or createRoom */
  action: 'roomInvite' | 'createRoom'
  rawRoomId: string | null
}

/** POST /register: where user-interactive auth creates the account */
export interface RegisterRoute { kind: 'register' }

/** GET (or HEAD) /register/available: answered here when a username rule refuses the name */
export interface AvailableRoute { kind: 'available' }

export type Route = TokenRoute | InviteRoute | RegisterRoute | AvailableRoute | { kind: 'forward' }

const TOKEN = /^\/_matrix\/client\/(?:r0|v3|unstable)\/(register|account\/3pid)\/(email|msisdn)\/requestToken$/

// Synapse's register_txn_path: POST on the path, PUT on the path plus a transaction id
const INVITE = /^\/_matrix\/client\/(?:api\/v1|r0|v3|unstable)\/(?:rooms\/([^/]*)\/invite|createRoom)(\/[^/]*)?$/

const REGISTER = /^\/_matrix\/client\/(?:r0|v3|unstable)\/register$/

// Synapse's pattern has no "$" ("/register/available" in client_patterns, matched with
// re.match), so every path starting so reaches the availability check; HEAD is served as GET
const AVAILABLE = /^\/_matrix\/client\/(?:r0|v3|unstable)\/register\/available/

export const FORWARD: Route = { kind: 'forward' }
const REGISTER_ROUTE: Route = { kind: 'register' }
const AVAILABLE_ROUTE: Route = { kind: 'available' }

/** The path part of a raw request target: everything before the first "?". */
export function rawPath (target: string): string {
  const q = target.indexOf('?')
  return q === -1 ? target : target.slice(0, q)
}

export function classify (method: string, target: string): Route {
  if ((method === 'GET' || method === 'HEAD') && target.startsWith('/_matrix/client/') && AVAILABLE.test(target)) return AVAILABLE_ROUTE
  // cheap prefix test first: almost every request is not policed
  if ((method !== 'POST' && method !== 'PUT') || !target.startsWith('/_matrix/client/')) return FORWARD
  const path = rawPath(target)
  const m = method === 'POST' ? TOKEN.exec(path) : null
  if (m === null) return method === 'POST' && REGISTER.test(path) ? REGISTER_ROUTE : classifyInvite(method, path)
  return {
    kind: 'requestToken',
    endpoint: m[1] === 'register' ? 'register' : 'account',
    medium: m[2] as 'email' | 'msisdn'
  }
}

function classifyInvite (method: string, path: string): Route {
  const m = INVITE.exec(path)
  if (m === null || (method === 'PUT') !== (m[2] !== undefined)) return FORWARD
  return { kind: 'invite', action: m[1] !== undefined ? 'roomInvite' : 'createRoom', rawRoomId: m[1] ?? null }
}
