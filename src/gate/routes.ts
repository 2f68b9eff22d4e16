// The gate's route table: every request regguard does more with than forward. Each entry is
// matched exactly as Synapse routes it: on the raw request target (never percent-decoded or
// normalised), case-sensitive, query excluded, anchored unless Synapse's own pattern is not.
// Whatever no entry matches is forwarded unchanged ('forward'), so what is not policed here is
// also not routed by Synapse to a policed servlet.

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

export interface ForwardRoute { kind: 'forward' }

/**
 * The other doors to a 3PID or an account (issue 22), one handler (guarded.ts):
 * - threepidAdd: POST /account/3pid/add (sid, client_secret) and the legacy POST /account/3pid
 *   (threePidCreds / three_pid_creds), which bind a validated 3PID to an existing account;
 * - uiaFallback: POST /auth/{stage}/fallback/web, a UIA stage completed outside /register;
 * - sso: /_synapse/client/pick_username/* and /_synapse/client/sso_register, SSO's
 *   registration of new accounts.
 */
export type GuardedRoute =
  | { kind: 'guarded', action: 'threepidAdd', spelling: 'add' | 'legacy' }
  | { kind: 'guarded', action: 'uiaFallback', stage: string, prefix: string }
  | { kind: 'guarded', action: 'sso' }

export type Route = TokenRoute | InviteRoute | RegisterRoute | AvailableRoute | GuardedRoute | ForwardRoute

interface RouteEntry {
  methods: readonly string[]
  path: RegExp
  /** The route for a match; null when Synapse would not route this method to it */
  route: (m: RegExpExecArray, method: string) => Route | null
  why: string
}

const CLIENT = '/_matrix/client/'
export const FORWARD: ForwardRoute = { kind: 'forward' }
const REGISTER: RegisterRoute = { kind: 'register' }
const AVAILABLE: AvailableRoute = { kind: 'available' }

export const ROUTE_TABLE: readonly RouteEntry[] = [
  {
    methods: ['POST'],
    path: /^\/_matrix\/client\/(?:r0|v3|unstable)\/(register|account\/3pid)\/(email|msisdn)\/requestToken$/,
    route: (m) => ({ kind: 'requestToken', endpoint: m[1] === 'register' ? 'register' : 'account', medium: m[2] as 'email' | 'msisdn' }),
    why: 'the token requests that start a 3PID registration (account/3pid: a session validated there is accepted by /register)'
  },
  {
    methods: ['POST'],
    path: /^\/_matrix\/client\/(?:r0|v3|unstable)\/register$/,
    route: () => REGISTER,
    why: 'the last door to an account: 3PID stages, require_3pid, username and requester rules'
  },
  {
    // Synapse's pattern has no "$" ("/register/available" in client_patterns, matched with
    // re.match), so every path starting so reaches the availability check; HEAD is served as GET
    methods: ['GET', 'HEAD'],
    path: /^\/_matrix\/client\/(?:r0|v3|unstable)\/register\/available/,
    route: () => AVAILABLE,
    why: 'a username the rules refuse is answered here'
  },
  {
    // Synapse's register_txn_path: POST on the path, PUT on the path plus a transaction id
    methods: ['POST', 'PUT'],
    path: /^\/_matrix\/client\/(?:api\/v1|r0|v3|unstable)\/(?:rooms\/([^/]*)\/invite|createRoom)(\/[^/]*)?$/,
    route: (m, method) => (method === 'PUT') !== (m[2] !== undefined)
      ? null
      : { kind: 'invite', action: m[1] !== undefined ? 'roomInvite' : 'createRoom', rawRoomId: m[1] ?? null },
    why: '3PID room invites the homeserver accepts teach pending invites'
  },
  {
    // ThreepidAddRestServlet ("/account/3pid/add$") and ThreepidRestServlet ("/account/3pid$");
    // /account/3pid/bind is not here: it binds an identity server's session at that identity
    // server (which anyone can ask directly), and adds no 3PID to the account
    methods: ['POST'],
    path: /^\/_matrix\/client\/(?:r0|v3|unstable)\/account\/3pid(\/add)?$/,
    route: (m) => ({ kind: 'guarded', action: 'threepidAdd', spelling: m[1] !== undefined ? 'add' : 'legacy' }),
    why: 'a validated 3PID bound to an existing account: only one regguard let through a policed requestToken'
  },
  {
    // AuthRestServlet: "/auth/(?P<stagetype>[\w\.]*)/fallback/web" has no "$", and Synapse reads
    // the path as ASCII, so \w is [A-Za-z0-9_]
    methods: ['POST'],
    path: /^\/_matrix\/client\/(r0|v3|unstable)\/auth\/([A-Za-z0-9_.]*)\/fallback\/web/,
    route: (m) => ({ kind: 'guarded', action: 'uiaFallback', stage: m[2] as string, prefix: m[1] as string }),
    why: 'a UIA stage completed outside /register may finish a flow without a 3PID (require_3pid)'
  }
]

const SSO: GuardedRoute = { kind: 'guarded', action: 'sso' }
const SSO_REGISTRATION = new Set(['pick_username', 'sso_register'])

/** Python's unquote of one segment: invalid escapes stay as they are */
function unquote (segment: string): string {
  if (!segment.includes('%')) return segment
  return segment.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try { return decodeURIComponent(run) } catch { return Buffer.from(run.replace(/%/g, ''), 'hex').toString('latin1') }
  })
}

/**
 * /_synapse/client/pick_username/... and /_synapse/client/sso_register: Twisted's resource tree,
 * which walks the path segment by segment, each percent-decoded (so /%5Fsynapse/client/... is
 * the same resource), and hands whatever follows to the resource it reached.
 */
export function isSsoRegistration (path: string): boolean {
  const first = path.indexOf('/', 1)
  if (first === -1) return false
  const head = path.slice(1, first)
  if (head !== '_synapse' && !head.includes('%')) return false
  const segments = path.slice(1).split('/', 3).map(unquote)
  return segments[0] === '_synapse' && segments[1] === 'client' && SSO_REGISTRATION.has(segments[2] ?? '')
}

/** The path part of a raw request target: everything before the first "?". */
export function rawPath (target: string): string {
  const q = target.indexOf('?')
  return q === -1 ? target : target.slice(0, q)
}

export function classify (method: string, target: string): Route {
  // cheap prefix test first: almost every request is not policed
  if (!target.startsWith(CLIENT)) return isSsoRegistration(rawPath(target)) ? SSO : FORWARD
  if (method !== 'POST' && method !== 'PUT' && method !== 'GET' && method !== 'HEAD') return FORWARD
  const path = rawPath(target)
  for (const entry of ROUTE_TABLE) {
    if (!entry.methods.includes(method)) continue
    const m = entry.path.exec(path)
    if (m !== null) return entry.route(m, method) ?? FORWARD
  }
  return FORWARD
}
