import type { Generated } from 'kysely'

// Table shapes as kysely sees them. Times are epoch milliseconds. PostgreSQL hands BIGINT
// columns back as strings, so rows are converted in kysely-store.ts, never used raw.

export interface InvitesTable {
  id: Generated<number | string>
  medium: string
  address: string
  room_id: string | null
  source: string
  created_at: number | string
  expires_at: number | string
  revoked_at: number | string | null
}

export interface SessionsTable {
  client_secret: string
  sid: string
  medium: string
  address: string
  endpoint: string
  created_at: number | string
  expires_at: number | string
}

export interface RateLimitsTable {
  key: string
  window_start: number | string
  count: number
}

export interface SecretsTable {
  name: string
  value: string
  created_at: number | string
}

export interface Database {
  regguard_secrets: SecretsTable
  regguard_invites: InvitesTable
  regguard_sessions: SessionsTable
  regguard_rate_limits: RateLimitsTable
}

export const MIGRATION_TABLE = 'regguard_migration'
export const MIGRATION_LOCK_TABLE = 'regguard_migration_lock'
