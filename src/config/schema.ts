import { addStoreFormats } from './storage-formats.js'
import { addFormats } from './formats.js'
import { addListFormats, dnsBranch, listsBranch, liveListKeys, mxKeys } from './schema-lists.js'
import { approvalBranch } from '../approval/settings.js'
import { notifyBranch } from '../notify/settings.js'

// The one source of truth for configuration: convict validates against it, the environment
// overrides come from it, and config/regguard.example.yaml is generated from it.

export interface Leaf {
  doc: string
  format: unknown
  default: unknown
  env?: string
  sensitive?: boolean
  /** Written commented out in the sample config (aliases, secrets). */
  sampleCommented?: boolean
  /** What the sample shows for it, when not the default. */
  sampleValue?: unknown
}
export interface Branch { [key: string]: Node }
export type Node = Leaf | Branch

export function isLeaf (n: Node): n is Leaf {
  return typeof (n as Leaf).doc === 'string' && 'default' in n
}

const list = (doc: string): Leaf => ({ doc, format: 'string-list', default: [] })
const alias = (target: string, format: string): Leaf => ({
  doc: `ma1sd doc layout: same as ${target}. Giving both with different values stops start-up.`,
  format,
  default: null,
  sampleCommented: true
})

function threepidLists (aliasOf?: string): Branch {
  const leaf = (k: string, doc: string): Leaf => aliasOf ? alias(`${aliasOf}.${k}`, 'optional-string-list') : list(doc)
  return {
    email: {
      domain: {
        whitelist: leaf('email.domain.whitelist', 'Email domains that may register: "*example.org" (domain and subdomains), ".example.org" (subdomains only), "example.org" (exactly).'),
        blacklist: leaf('email.domain.blacklist', 'Email domains that may not register, same syntax as the whitelist.'),
        whitelist_files: leaf('email.domain.whitelist_files', 'Files of whitelisted domains, one a line; "#" starts a comment. Relative to the config file.'),
        blacklist_files: leaf('email.domain.blacklist_files', 'Files of blacklisted domains (e.g. a disposable-email list), one a line. Relative to the config file.'),
        // not in ma1sd: no alias in its doc layout
        ...(aliasOf ? {} : liveListKeys())
      },
      ...(aliasOf ? {} : { mx: mxKeys() }),
      pattern: {
        whitelist: leaf('email.pattern.whitelist', 'Regular expressions that allow a canonical address when they match all of it.'),
        blacklist: leaf('email.pattern.blacklist', 'Regular expressions that deny a canonical address when they match all of it.')
      }
    },
    msisdn: {
      pattern: {
        whitelist: leaf('msisdn.pattern.whitelist', 'Regular expressions over the E.164 number without "+" that allow it.'),
        blacklist: leaf('msisdn.pattern.blacklist', 'Regular expressions over the E.164 number without "+" that deny it.')
      }
    }
  }
}

// MAS's string constraints (policies/common/common.rego): any one kind matching is a match
function constraints (what: string): Branch {
  return {
    literals: list(`${what}: equal to one of these.`),
    prefixes: list(`${what}: starting with one of these.`),
    suffixes: list(`${what}: ending with one of these.`),
    substrings: list(`${what}: containing one of these.`),
    regexes: list(`${what}: in which one of these regular expressions matches somewhere (as in MAS, not anchored: write ^...$ for a whole match).`)
  }
}

export const SCHEMA: Branch = {
  server: {
    host: { doc: 'Address the proxy listens on.', format: String, default: '127.0.0.1' },
    port: { doc: 'Port the proxy listens on.', format: 'port', default: 8090 },
    enabled: { doc: 'Run the gate (the proxy listener). false: no gate, for a MAS feeder (mas.url set): serve then runs the admin listener (/health, /ready, /metrics) and feeds MAS, and polices nothing (docs/mas.md).', format: 'boolean', default: true },
    trusted_proxies: {
      doc: 'Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses, CIDR ranges, or "loopback", "linklocal", "uniquelocal"). From anyone else they are replaced.',
      format: 'string-list',
      default: ['loopback']
    },
    shutdown_timeout_ms: { doc: 'On SIGTERM, how long in-flight requests may take before regguard exits anyway.', format: 'nat', default: 30000 },
    headers_timeout_ms: { doc: 'How long a client may take to send a request\'s headers before it gets 408 and the connection is closed (0: no limit). Checked about once a second.', format: 'nat', default: 30000 },
    body_timeout_ms: { doc: 'How long a request body may go without a byte arriving before the client gets 408 (or, once an answer has started, the connection is closed) and the homeserver\'s request is aborted (0: no limit). A slow but moving upload is never cut.', format: 'nat', default: 60000 },
    per_client_concurrency: { doc: 'Most requests one client IP (as computed with trusted_proxies; IPv6 by its register.rate_limit.ipv6_prefix network) may have at the homeserver at once; beyond it 429 M_LIMIT_EXCEEDED (0: no limit). Raise it when many users share one address.', format: 'nat', default: 32 },
    workers: { doc: 'Processes serving the proxy and admin listeners on their shared ports (node:cluster). 1: one process, as without it. N > 1: a primary process starts N workers, restarts one that dies, hands SIGTERM/SIGHUP to every worker and keeps the in-memory rate-limit counters for all of them; the connection limits (homeserver.connections, server.per_client_concurrency) then hold per worker. Read at start-up (docs/workers.md).', format: 'positive-int', default: 1 }
  },
  homeserver: {
    url: { doc: 'Origin of the homeserver\'s client listener, e.g. http://127.0.0.1:8008.', format: 'http-url', default: 'http://127.0.0.1:8008' },
    server_name: { doc: 'The homeserver\'s server_name (as in homeserver.yaml); answered to the threepid_checker module as "hs".', format: String, default: 'localhost' },
    timeout_ms: { doc: 'How long to wait for the homeserver\'s response headers (and between body chunks) before answering 504.', format: 'nat', default: 60000 },
    connections: { doc: 'Most connections kept open to the homeserver for pass-through traffic (everything regguard does not police).', format: 'nat', default: 128 },
    registration_connections: { doc: 'Further connections kept for the policed routes alone (requestToken, /register, room invites and createRoom, readiness): pass-through traffic never uses them, so slow uploads cannot hold up registration.', format: 'positive-int', default: 16 },
    admin_token: { doc: 'A Synapse admin\'s access token (optional). Set: invites from users the homeserver\'s admin API reports as deactivated or shadow-banned are not learned (their invites are answered 200 without inviting anyone).', format: String, default: '', sensitive: true }
  },
  admin: {
    host: { doc: 'Address of the admin listener (health). Keep it on loopback.', format: String, default: '127.0.0.1' },
    port: { doc: 'Port of the admin listener.', format: 'port', default: 8091 },
    token: { doc: 'Bearer token for the admin API. Empty: the admin API is off.', format: String, default: '', sensitive: true },
    threepid_check_token: { doc: 'Set: GET /_regguard/v1/threepid_check needs it, as the last path segment (the module\'s url: http://127.0.0.1:8091/_regguard/v1/threepid_check/TOKEN) or as Authorization: Bearer, and then answers whatever Host or Origin it is asked with. Empty: it answers only requests whose Host is the admin listener\'s own address and that carry no Origin header (a page the operator visits cannot drive it).', format: String, default: '', sensitive: true },
    synapse_module_token: { doc: 'Set: the Synapse module\'s endpoints (POST /_regguard/v1/synapse_module/*, docs/synapse-module.md) need it as Authorization: Bearer (the module\'s `token`), and then answer whatever Host or Origin they are asked with. Empty: as threepid_check, only requests whose Host is the admin listener\'s own address and that carry no Origin header.', format: String, default: '', sensitive: true }
  },
  log: {
    level: { doc: 'pino log level: fatal, error, warn, info, debug, trace or silent.', format: 'log-level', default: 'info' },
    full_addresses: { doc: 'Log policy decisions with the whole address. Off: the local part (or number) is a keyed hash (log.hash_key), the domain kept.', format: 'boolean', default: false },
    requests: { doc: 'Log one line per proxied request (method, target with every query value and any secret path segment redacted, status).', format: 'boolean', default: false },
    hash_key: { doc: 'Key of the hashes that stand for addresses in the logs (HMAC-SHA-256), read at start-up. Empty: a key generated once and kept in the store, shared by every instance on it.', format: String, default: '', sensitive: true }
  },
  register: {
    policy: {
      allowed: { doc: 'Decision when no invite and no list matched.', format: 'boolean', default: false },
      invite: { doc: 'A pending 3PID invite for the address allows it, after the blacklists and before the whitelists and the default.', format: 'boolean', default: true },
      invite_overrides_blacklist: { doc: 'ma1sd\'s order: a pending invite allows before any blacklist (domain lists, files, live lists, patterns, mail-server rules). Off: every blacklist kind denies first, so an invite, which any trusted inviter can make, never opens a blacklisted address.', format: 'boolean', default: false },
      only_check_at_registration: { doc: 'As the threepid_checker option: true stops policing /account/3pid/*/requestToken (existing users may add any address), and sessions created there are then never accepted at /register.', format: 'boolean', default: false },
      require_3pid: { doc: 'No account without a 3PID stage that passed the policy: /register flows without an email or phone stage are hidden and refused (application services pass).', format: 'boolean', default: false },
      sso_providers: list('SSO providers (Synapse\'s idp_id, e.g. "oidc-github") whose registrations the Synapse module lets through without an email under require_3pid; their email, when Synapse has one, still meets the email policy.'),
      admin_registrations: { doc: 'Registrations the Synapse module sees with no user agent and no IP (Synapse\'s admin API, shared-secret registration; also guests and JWT logins): "allow" lets them through unjudged, as the operator\'s own; "policy" judges them as any other.', format: 'admin-registrations', default: 'allow' },
      threepid: threepidLists(),
      username: {
        allowed: constraints('Usernames that may register (POST /register, GET /register/available), as MAS\'s registration.allowed_usernames (when any entry is set, a username must match one; matched on the lower-cased localpart Synapse registers, entries lower-cased too)'),
        banned: constraints('Usernames refused (POST /register, GET /register/available), as MAS\'s registration.banned_usernames (lower-cased localpart)')
      },
      requester: {
        banned_ips: list('Client IPs refused on the policed requestToken endpoints, /register and /register/available, as MAS\'s requester.banned_ips: addresses or CIDR ranges, IPv4 or IPv6 (an IPv4-mapped IPv6 address counts as IPv4); the client IP as regguard computes it (server.trusted_proxies).'),
        banned_user_agents: constraints('User-Agents refused on the same endpoints, as MAS\'s requester.banned_user_agents (every User-Agent header is judged; none counts as "")')
      }
    },
    allowed: alias('register.policy.allowed', 'optional-boolean'),
    invite: alias('register.policy.invite', 'optional-boolean'),
    threepid: threepidLists('register.policy.threepid'),
    messages: {
      email_denied: { doc: 'Error text for a denied email. Empty: Synapse\'s wording for the endpoint.', format: String, default: '' },
      msisdn_denied: { doc: 'Error text for a denied phone number. Empty: Synapse\'s wording for the endpoint.', format: String, default: '' }
    },
    approval: approvalBranch(),
    session_ttl: { doc: 'How long a validation session regguard let through stays usable at /register: milliseconds, or e.g. "24 hours".', format: 'positive-duration', default: 86400000, sampleValue: '24 hours' },
    rate_limit: {
      enabled: { doc: 'Rate-limit the policed requestToken endpoints (429 M_LIMIT_EXCEEDED before the homeserver is asked).', format: 'boolean', default: true },
      per_ip: {
        max: { doc: 'Token requests one client IP may make per window (0: no limit).', format: 'nat', default: 20 },
        window: { doc: 'The per-IP window: milliseconds, or e.g. "10 minutes".', format: 'positive-duration', default: 600000, sampleValue: '10 minutes' }
      },
      per_address: {
        max: { doc: 'Token requests for one canonical address per window (0: no limit); stops email bombing.', format: 'nat', default: 5 },
        window: { doc: 'The per-address window: milliseconds, or e.g. "1 hour".', format: 'positive-duration', default: 3600000, sampleValue: '1 hour' }
      },
      shared: { doc: 'Count in the shared store (storage.url) so several instances limit together; false: in memory, per instance.', format: 'boolean', default: false },
      redis_url: { doc: 'Count in Redis instead (e.g. redis://127.0.0.1:6379); takes precedence over shared.', format: String, default: '' },
      timeout_ms: { doc: 'How long a request waits for its rate-limit count (Redis or the shared store) before it goes on without being limited.', format: 'positive-duration', default: 1000 },
      ipv6_prefix: { doc: 'IPv6 clients are counted by their network of this prefix length (0-128), since one host usually holds a whole /64; IPv4-mapped addresses (::ffff:a.b.c.d) count as their IPv4 address. Also groups server.per_client_concurrency.', format: 'ipv6-prefix', default: 64 }
    }
  },
  storage: {
    url: { doc: 'Where invites (and registration sessions) are kept: sqlite://FILE (relative to the working directory; one instance) or postgres://USER:PASSWORD@HOST:PORT/DATABASE (several instances share it). Migrated at start-up.', format: 'storage-url', default: 'sqlite://./data/regguard.sqlite' },
    timeout_ms: { doc: 'How long a request waits for the store (an invite or validation-session lookup) before it is refused with a temporary error (503), as when the store is down; a PostgreSQL query unanswered by then also has its connection closed and replaced. Read at start-up.', format: 'positive-duration', default: 5000 }
  },
  lists: listsBranch(),
  dns: dnsBranch(),
  notify: notifyBranch(),
  invites: {
    ttl: { doc: 'How long an invite stays pending: milliseconds, or e.g. "7 days" (ma1sd\'s default).', format: 'positive-duration', default: 604800000, sampleValue: '7 days' },
    learn: {
      enabled: { doc: 'Learn pending invites from the 3PID room invites and createRoom requests the homeserver accepts. Off: those requests are only forwarded.', format: 'boolean', default: true },
      source: { doc: 'Where invites are learned from: "traffic" (the room invites and createRoom requests crossing the proxy), "module" (the Synapse module\'s user_may_send_3pid_invite callback, docs/synapse-module.md; the proxy then only forwards those requests: no whoami, no transaction keys) or "both" (an invite crossing the proxy is then recorded twice, and counts twice towards per_inviter).', format: 'learn-source', default: 'traffic' },
      inviters: { doc: 'Whose invites teach: user IDs or globs ("*" any run of characters, "?" one), matched against the user the homeserver names for the request\'s access token. Empty (null): local users, "@*:<homeserver.server_name>".', format: 'optional-string-list', default: null, sampleValue: ['@*:example.org'] },
      per_inviter: {
        max: { doc: 'Invites one inviter may teach per window (0: none).', format: 'nat', default: 50 },
        window: { doc: 'The per-inviter window (sliding): milliseconds, or e.g. "1 day".', format: 'positive-duration', default: 86400000, sampleValue: '1 day' }
      },
      max_per_request: { doc: 'A createRoom with more invite_3pid entries than this teaches none of them.', format: 'nat', default: 20 },
      invitees_may_invite: { doc: 'Whether an account that registered through regguard with a learned invite (regguard\'s own record of the /register it let through) may teach invites in turn. Off: its invites are forwarded but teach nothing, so invites do not compound.', format: 'boolean', default: false },
      txn_ttl: { doc: 'How long a PUT transaction key is remembered (Synapse answers a repeated one from its cache for 30 to 60 minutes); at least 1 hour.', format: 'txn-ttl', default: 3900000, sampleValue: '65 minutes' }
    }
  },
  audit: {
    retention: { doc: 'How long the decision history (admin API /decisions, the console) keeps each policy decision: milliseconds, or e.g. "30 days". Older ones are swept.', format: 'positive-duration', default: 2592000000, sampleValue: '30 days' },
    max_rows: { doc: 'Most rows the decision history keeps, whatever their age (a row is one decision, or identical ones folded into it with a count). Past it the oldest rows are deleted after each batch is written, counted in regguard_decision_history_dropped_total{reason="max_rows"} and shown on /ready. Every text in a row is cut at 256 characters, so a row takes a few hundred bytes (at most about 2 KB with its indexes). 0: no bound but audit.retention.', format: 'nat', default: 1000000 }
  },
  // the MAS feeder (src/mas/, docs/mas.md)
  mas: {
    url: { doc: 'Base URL of the Matrix Authentication Service (its issuer, e.g. https://auth.example.org/): its /.well-known/openid-configuration names the token endpoint, and its admin API (the adminapi resource) is under it. Set: regguard mas push and serve send the register policy to MAS as policy data. Empty: MAS is not fed.', format: masUrl, default: '' },
    client_id: { doc: 'The client_id of a client in MAS\'s configuration (clients:) with client_auth_method client_secret_basic, allowed the client_credentials grant and the scope urn:mas:admin (docs/mas.md).', format: String, default: '' },
    client_secret: { doc: 'That client\'s secret. Or mas.client_secret_file.', format: String, default: '', sensitive: true },
    client_secret_file: { doc: 'A file holding the client\'s secret (its first line; relative to the working directory), read at start-up and on every reload. Takes precedence over mas.client_secret.', format: String, default: '' },
    push_on_change: { doc: 'serve pushes the policy data at start, after every reload (SIGHUP) and when a live list\'s copy changes, each time only when the document differs from the last one MAS accepted (mas.state_file). Off: only regguard mas push sends it.', format: 'boolean', default: true },
    state_file: { doc: 'Where the hash of the last document MAS accepted is kept (relative to the working directory), so a restart pushes only a changed document.', format: String, default: './data/mas-last-push.json' },
    timeout_ms: { doc: 'How long each request to MAS (discovery, token, push) may take.', format: 'positive-duration', default: 10000 }
  }
}

/** mas.url: empty (off), or an http(s) URL without query or fragment */
function masUrl (v: unknown): void {
  if (typeof v !== 'string') throw new Error('must be a URL string')
  if (v === '') return
  let u: URL
  try { u = new URL(v) } catch { throw new Error(`must be an http:// or https:// URL, got ${JSON.stringify(v)}`) }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`must be an http:// or https:// URL, got ${JSON.stringify(v)}`)
  if (u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') throw new Error('must be a base URL without query, fragment or credentials')
}

export function envName (path: string): string {
  return 'REGGUARD_' + path.replace(/\./g, '_').toUpperCase()
}

/** Leaves with their dotted paths, in schema order. */
export function leaves (node: Branch = SCHEMA, prefix = ''): Array<[string, Leaf]> {
  const out: Array<[string, Leaf]> = []
  for (const [k, v] of Object.entries(node)) {
    const path = prefix === '' ? k : `${prefix}.${k}`
    if (isLeaf(v)) out.push([path, v])
    else out.push(...leaves(v, path))
  }
  return out
}

/** The schema in convict's shape, with an environment variable for every scalar key. */
export function convictSchema (node: Branch = SCHEMA, prefix = ''): Record<string, unknown> {
  addFormats()
  addStoreFormats()
  addListFormats()
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(node)) {
    const path = prefix === '' ? k : `${prefix}.${k}`
    if (isLeaf(v)) {
      const { sampleCommented: _c, sampleValue: _s, ...rest } = v
      const scalar = !Array.isArray(v.default) && !String(v.format).includes('list')
      out[k] = scalar || v.format === 'string-list' ? { ...rest, env: envName(path) } : rest
    } else {
      out[k] = convictSchema(v, path)
    }
  }
  return out
}
