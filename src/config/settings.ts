// The typed shape of a validated configuration (mirrors SCHEMA in schema.ts).

import type { ApprovalSettings } from '../approval/settings.js'
import type { NotifySettings } from '../notify/settings.js'

export interface ThreepidLists {
  email: {
    domain: { whitelist: string[], blacklist: string[], whitelist_files: string[], blacklist_files: string[], whitelist_urls: string[], blacklist_urls: string[] }
    pattern: { whitelist: string[], blacklist: string[] }
    mx: MxSettings
  }
  msisdn: { pattern: { whitelist: string[], blacklist: string[] } }
}

/** MAS's string constraints (src/policy/string-constraints.ts) */
export interface ConstraintSettings { literals: string[], prefixes: string[], suffixes: string[], substrings: string[], regexes: string[] }
export interface MxSettings { require: boolean, blacklist: string[], whitelist: string[], on_error: 'deny' | 'allow' }

export interface Settings {
  server: {
    host: string
    port: number
    /** false: no gate listener (a MAS feeder) */
    enabled: boolean
    trusted_proxies: string[]
    shutdown_timeout_ms: number
    headers_timeout_ms: number
    body_timeout_ms: number
    per_client_concurrency: number
    /** node:cluster workers (1: no cluster) */
    workers: number
  }
  homeserver: { url: string, server_name: string, timeout_ms: number, connections: number, registration_connections: number, admin_token: string }
  admin: { host: string, port: number, token: string, threepid_check_token: string, synapse_module_token: string }
  log: { level: string, full_addresses: boolean, requests: boolean, hash_key: string }
  register: {
    policy: { allowed: boolean, invite: boolean, invite_overrides_blacklist: boolean, only_check_at_registration: boolean, require_3pid: boolean
      sso_providers: string[]
      admin_registrations: 'allow' | 'policy'
      threepid: ThreepidLists
      username: { allowed: ConstraintSettings, banned: ConstraintSettings }
      requester: { banned_ips: string[], banned_user_agents: ConstraintSettings }
    }
    messages: { email_denied: string, msisdn_denied: string }
    approval: ApprovalSettings
    /** milliseconds */
    session_ttl: number
    rate_limit: {
      enabled: boolean
      per_ip: { max: number, window: number }
      per_address: { max: number, window: number }
      shared: boolean
      redis_url: string
      /** milliseconds */
      timeout_ms: number
      /** 0..128 */
      ipv6_prefix: number
    }
  }
  /** timeout_ms in milliseconds */
  storage: { url: string, timeout_ms: number }
  /** refresh in milliseconds */
  lists: { refresh: number, timeout_ms: number, max_bytes: number, cache_dir: string }
  /** milliseconds; max_* 0: no limit */
  dns: { servers: string[], timeout_ms: number, failure_ttl_ms: number, max_lookups: number, max_lookups_per_client: number }
  /** ttl in milliseconds */
  invites: {
    ttl: number
    learn: {
      enabled: boolean
      source: 'traffic' | 'module' | 'both'
      /** null: local users */
      inviters: string[] | null
      per_inviter: { max: number, window: number }
      max_per_request: number
      invitees_may_invite: boolean
      /** milliseconds */
      txn_ttl: number
    }
  }
  /** retention in milliseconds; max_rows 0: no bound */
  audit: { retention: number, max_rows: number }
  notify: NotifySettings
  /** the MAS feeder (src/mas/); url '': off; timeout_ms in milliseconds */
  mas: { url: string, client_id: string, client_secret: string, client_secret_file: string, push_on_change: boolean, state_file: string, timeout_ms: number }
}
