import type { Selectable } from 'kysely'
import type { Medium } from '../synapse/canonical.js'
import type { InvitesTable, SessionsTable } from './schema.js'
import type { Invite, InviteSource, TokenSession } from './store.js'

// Rows as the store hands them out, for kysely's queries and SQLite's prepared statements alike.
// Types only from kysely: SQLite's statements must not load it (src/store/sqlite.ts).

// PostgreSQL's bigint columns arrive as strings
export function num (v: number | string): number { return typeof v === 'number' ? v : Number(v) }

export function toInvite (r: Selectable<InvitesTable>): Invite {
  return {
    id: String(r.id),
    medium: r.medium as Medium,
    address: r.address,
    room_id: r.room_id,
    source: r.source as InviteSource,
    created_at: num(r.created_at),
    expires_at: num(r.expires_at),
    revoked_at: r.revoked_at === null ? null : num(r.revoked_at),
    inviter: r.inviter ?? null
  }
}

export function toSession (r: Selectable<SessionsTable>): TokenSession {
  return { client_secret: r.client_secret, sid: r.sid, medium: r.medium as Medium, address: r.address, endpoint: r.endpoint, expires_at: num(r.expires_at) }
}
