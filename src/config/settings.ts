// The typed shape of a validated configuration (mirrors SCHEMA in schema.ts).

export interface ThreepidLists {
  email: {
    domain: { whitelist: string[], blacklist: string[], whitelist_files: string[], blacklist_files: string[], whitelist_urls: string[], blacklist_urls: string[] }
    pattern: { whitelist: string[], blacklist: string[] }
    mx: MxSettings
  }
  msisdn: { pattern: { whitelist: string[], blacklist: string[] } }
}

export interface MxSettings { require: boolean, blacklist: string[], whitelist: string[], on_error: 'deny' | 'allow' }

export interface Settings {
  server: { host: string, port: number, trusted_proxies: string[], shutdown_timeout_ms: number }
  homeserver: { url: string, server_name: string, timeout_ms: number, connections: number }
  admin: { host: string, port: number, token: string }
  log: { level: string, full_addresses: boolean, requests: boolean }
  register: {
    policy: { allowed: boolean, invite: boolean, only_check_at_registration: boolean, require_3pid: boolean, threepid: ThreepidLists }
    messages: { email_denied: string, msisdn_denied: string }
    /** milliseconds */
    session_ttl: number
    rate_limit: {
      enabled: boolean
      per_ip: { max: number, window: number }
      per_address: { max: number, window: number }
      shared: boolean
      redis_url: string
    }
  }
  storage: { url: string }
  /** refresh in milliseconds */
  lists: { refresh: number, timeout_ms: number, max_bytes: number, cache_dir: string }
  dns: { servers: string[], timeout_ms: number }
  /** ttl in milliseconds */
  invites: { ttl: number }
}
