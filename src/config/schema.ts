import { addStoreFormats } from '../store/config-formats.js'
import { addFormats } from './formats.js'
import { addListFormats, dnsBranch, listsBranch, liveListKeys, mxKeys } from './schema-lists.js'

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

export const SCHEMA: Branch = {
  server: {
    host: { doc: 'Address the proxy listens on.', format: String, default: '127.0.0.1' },
    port: { doc: 'Port the proxy listens on.', format: 'port', default: 8090 },
    trusted_proxies: {
      doc: 'Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses, CIDR ranges, or "loopback", "linklocal", "uniquelocal"). From anyone else they are replaced.',
      format: 'string-list',
      default: ['loopback']
    },
    shutdown_timeout_ms: { doc: 'On SIGTERM, how long in-flight requests may take before regguard exits anyway.', format: 'nat', default: 30000 }
  },
  homeserver: {
    url: { doc: 'Origin of the homeserver\'s client listener, e.g. http://127.0.0.1:8008.', format: 'http-url', default: 'http://127.0.0.1:8008' },
    server_name: { doc: 'The homeserver\'s server_name (as in homeserver.yaml); answered to the threepid_checker module as "hs".', format: String, default: 'localhost' },
    timeout_ms: { doc: 'How long to wait for the homeserver\'s response headers (and between body chunks) before answering 504.', format: 'nat', default: 60000 },
    connections: { doc: 'Most connections kept open to the homeserver.', format: 'nat', default: 128 }
  },
  admin: {
    host: { doc: 'Address of the admin listener (health). Keep it on loopback.', format: String, default: '127.0.0.1' },
    port: { doc: 'Port of the admin listener.', format: 'port', default: 8091 },
    token: { doc: 'Bearer token for the admin API. Empty: the admin API is off.', format: String, default: '', sensitive: true }
  },
  log: {
    level: { doc: 'pino log level: fatal, error, warn, info, debug, trace or silent.', format: 'log-level', default: 'info' },
    full_addresses: { doc: 'Log policy decisions with the whole address. Off: the local part (or number) is hashed, the domain kept.', format: 'boolean', default: false },
    requests: { doc: 'Log one line per proxied request (method, path without access_token, status).', format: 'boolean', default: false }
  },
  register: {
    policy: {
      allowed: { doc: 'Decision when no invite and no list matched.', format: 'boolean', default: false },
      invite: { doc: 'A pending 3PID invite for the address allows it, before any list.', format: 'boolean', default: true },
      only_check_at_registration: { doc: 'As the threepid_checker option: true stops policing /account/3pid/*/requestToken (existing users may add any address), and sessions created there are then never accepted at /register.', format: 'boolean', default: false },
      require_3pid: { doc: 'No account without a 3PID stage that passed the policy: /register flows without an email or phone stage are hidden and refused (application services pass).', format: 'boolean', default: false },
      threepid: threepidLists()
    },
    allowed: alias('register.policy.allowed', 'optional-boolean'),
    invite: alias('register.policy.invite', 'optional-boolean'),
    threepid: threepidLists('register.policy.threepid'),
    messages: {
      email_denied: { doc: 'Error text for a denied email. Empty: Synapse\'s wording for the endpoint.', format: String, default: '' },
      msisdn_denied: { doc: 'Error text for a denied phone number. Empty: Synapse\'s wording for the endpoint.', format: String, default: '' }
    },
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
      redis_url: { doc: 'Count in Redis instead (e.g. redis://127.0.0.1:6379); takes precedence over shared.', format: String, default: '' }
    }
  },
  storage: {
    url: { doc: 'Where invites (and registration sessions) are kept: sqlite://FILE (relative to the working directory; one instance) or postgres://USER:PASSWORD@HOST:PORT/DATABASE (several instances share it). Migrated at start-up.', format: 'storage-url', default: 'sqlite://./data/regguard.sqlite' }
  },
  lists: listsBranch(),
  dns: dnsBranch(),
  invites: {
    ttl: { doc: 'How long an invite stays pending: milliseconds, or e.g. "7 days" (ma1sd\'s default).', format: 'positive-duration', default: 604800000, sampleValue: '7 days' }
  }
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
