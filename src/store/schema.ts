import type { Generated } from 'kysely'
import type { AccessRequestsTable } from './access-requests-store.js'

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
  /** Who made a learned invite (the homeserver's user id); null for the others and older rows */
  inviter: string | null
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

export interface TxnsTable {
  key: string
  claim: string
  state: string
  first_seen: number | string
  expires_at: number | string
}

export interface DecisionsTable {
  id: Generated<number | string>
  at: number | string
  endpoint: string
  medium: string
  result: string
  rule: string
  detail: string
  client_ip: string
  address: string | null
  domain: string | null
  /** Identical decisions this row stands for (1 for rows older than the column) */
  count: Generated<number | string>
}

export interface UiaTable {
  session: string
  medium: string | null
  address: string | null
  invite_id: string | null
  invite_source: string | null
  username: string | null
  target: string | null
  expires_at: number | string
}

export interface RegistrationsTable {
  user_id: string
  medium: string
  address: string
  invite_id: string | null
  invite_source: string | null
  registered_at: number | string
}

export interface SecretsTable {
  name: string
  value: string
  created_at: number | string
}

export interface Database {
  regguard_decisions: DecisionsTable
  regguard_secrets: SecretsTable
  regguard_invites: InvitesTable
  regguard_sessions: SessionsTable
  regguard_rate_limits: RateLimitsTable
  regguard_txns: TxnsTable
  regguard_uia: UiaTable
  regguard_registrations: RegistrationsTable
  regguard_access_requests: AccessRequestsTable
}

export const MIGRATION_TABLE = 'regguard_migration'
export const MIGRATION_LOCK_TABLE = 'regguard_migration_lock'
