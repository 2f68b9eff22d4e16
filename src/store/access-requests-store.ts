import { sql, type Generated, type Kysely, type Selectable } from 'kysely'
import type { Medium } from '../synapse/canonical.js'
import { num } from './rows.js'
import type { Database } from './schema.js'

// Access requests (issue 25, migration 0007): an address only the default rule denied asks to
// join; an operator approves (an invite is made) or rejects it. The same SQL for SQLite and
// PostgreSQL. New rows are bounded by the caller's caps per hour; sweep() deletes what no
// longer matters, so the table stays bounded too.

export type AccessRequestState = 'pending' | 'approved' | 'rejected'

export interface AccessRequest {
  /** Opaque to callers; decimal digits, ordered by creation */
  id: string
  medium: Medium
  /** Canonical */
  address: string
  /** The client of the latest ask */
  client_ip: string
  user_agent: string
  first_seen: number
  last_seen: number
  /** How many requestTokens asked while it was pending */
  count: number
  /** A pending request past it is expired: it can no longer be decided, and the address may ask again */
  expires_at: number
  state: AccessRequestState
  decided_at: number | null
  /** Who decided (the user ID the operator gave), null when not given */
  decided_by: string | null
  reason: string | null
  /** The invite an approval made */
  invite_id: string | null
  /** Whether the applicant was mailed: "sent", or why not */
  applicant_told: string | null
}

export interface NewAccessRequest {
  medium: Medium
  address: string
  client_ip: string
  user_agent: string
  now: number
  expires_at: number
}

export interface AccessRequestQuery {
  state?: AccessRequestState
  limit: number
  offset: number
}

export interface Decided {
  state: 'approved' | 'rejected'
  by: string | null
  reason: string | null
  invite_id: string | null
  now: number
}

export interface AccessRequestStore {
  /** The address's pending request unexpired at `seen.now`, its count and last sighting updated; null when none */
  touch: (medium: Medium, address: string, seen: { client_ip: string, user_agent: string, now: number }) => Promise<AccessRequest | null>
  /**
   * Records a new pending request; `created` false when one was made for the address meanwhile
   * (then that one was touched). A pending one that expired is retired first.
   */
  open: (request: NewAccessRequest) => Promise<{ request: AccessRequest, created: boolean }>
  /** Was a request of this address rejected at or after `since`? */
  rejectedSince: (medium: Medium, address: string, since: number) => Promise<boolean>
  /** Pending (unexpired) first, then newest first */
  list: (query: AccessRequestQuery) => Promise<AccessRequest[]>
  get: (id: string) => Promise<AccessRequest | null>
  /** Decides a request pending and unexpired at `d.now`; null when it is not (unknown, decided, expired) */
  decide: (id: string, d: Decided) => Promise<AccessRequest | null>
  setApplicantTold: (id: string, told: string) => Promise<void>
  /** Deletes expired pending requests and decided ones decided before `decidedBefore`; how many */
  sweep: (now: number, decidedBefore: number) => Promise<number>
}

const ID = /^[1-9][0-9]{0,14}$/

type Row = Selectable<AccessRequestsTable>

export interface AccessRequestsTable {
  id: Generated<number | string>
  medium: string
  address: string
  pending_key: string | null
  client_ip: string
  user_agent: string
  first_seen: number | string
  last_seen: number | string
  count: number | string
  expires_at: number | string
  state: string
  decided_at: number | string | null
  decided_by: string | null
  reason: string | null
  invite_id: string | null
  applicant_told: string | null
}

function toRequest (r: Row): AccessRequest {
  return {
    id: String(r.id),
    medium: r.medium as Medium,
    address: r.address,
    client_ip: r.client_ip,
    user_agent: r.user_agent,
    first_seen: num(r.first_seen),
    last_seen: num(r.last_seen),
    count: num(r.count),
    expires_at: num(r.expires_at),
    state: r.state as AccessRequestState,
    decided_at: r.decided_at === null ? null : num(r.decided_at),
    decided_by: r.decided_by,
    reason: r.reason,
    invite_id: r.invite_id,
    applicant_told: r.applicant_told
  }
}

const pendingKey = (medium: string, address: string): string => `${medium}:${address}`

export function kyselyAccessRequests (db: Kysely<Database>): AccessRequestStore {
  const touch: AccessRequestStore['touch'] = async (medium, address, seen) => {
    const row = await db.updateTable('regguard_access_requests')
      .set({ count: sql<number>`count + 1`, last_seen: seen.now, client_ip: seen.client_ip, user_agent: seen.user_agent })
      .where('pending_key', '=', pendingKey(medium, address)).where('expires_at', '>', seen.now)
      .returningAll().executeTakeFirst()
    return row === undefined ? null : toRequest(row)
  }
  return {
    touch,
    async open (r) {
      const key = pendingKey(r.medium, r.address)
      // an expired pending request no longer holds the address
      await db.updateTable('regguard_access_requests').set({ pending_key: null })
        .where('pending_key', '=', key).where('expires_at', '<=', r.now).execute()
      const row = await db.insertInto('regguard_access_requests').values({
        medium: r.medium,
        address: r.address,
        pending_key: key,
        client_ip: r.client_ip,
        user_agent: r.user_agent,
        first_seen: r.now,
        last_seen: r.now,
        count: 1,
        expires_at: r.expires_at,
        state: 'pending',
        decided_at: null,
        decided_by: null,
        reason: null,
        invite_id: null,
        applicant_told: null
      }).onConflict((oc) => oc.column('pending_key').doNothing()).returningAll().executeTakeFirst()
      if (row !== undefined) return { request: toRequest(row), created: true }
      // another ask for the address won the insert
      const other = await touch(r.medium, r.address, { client_ip: r.client_ip, user_agent: r.user_agent, now: r.now })
      if (other === null) throw new Error('access request neither inserted nor found')
      return { request: other, created: false }
    },
    async rejectedSince (medium, address, since) {
      const row = await db.selectFrom('regguard_access_requests').select('id')
        .where('medium', '=', medium).where('address', '=', address).where('state', '=', 'rejected').where('decided_at', '>=', since)
        .limit(1).executeTakeFirst()
      return row !== undefined
    },
    async list (q) {
      // pending ones still holding their address first
      const rows = await db.selectFrom('regguard_access_requests').selectAll()
        .orderBy(sql`CASE WHEN pending_key IS NULL THEN 1 ELSE 0 END`).orderBy('id', 'desc')
        .$if(q.state !== undefined, (b) => b.where('state', '=', q.state as string))
        .limit(q.limit).offset(q.offset).execute()
      return rows.map(toRequest)
    },
    async get (id) {
      if (!ID.test(id)) return null
      const row = await db.selectFrom('regguard_access_requests').selectAll().where('id', '=', Number(id)).executeTakeFirst()
      return row === undefined ? null : toRequest(row)
    },
    async decide (id, d) {
      if (!ID.test(id)) return null
      // one statement: of two operators deciding at once, exactly one gets the row
      const row = await db.updateTable('regguard_access_requests')
        .set({ state: d.state, pending_key: null, decided_at: d.now, decided_by: d.by, reason: d.reason, invite_id: d.invite_id })
        .where('id', '=', Number(id)).where('state', '=', 'pending').where('pending_key', 'is not', null).where('expires_at', '>', d.now)
        .returningAll().executeTakeFirst()
      return row === undefined ? null : toRequest(row)
    },
    async setApplicantTold (id, told) {
      if (!ID.test(id)) return
      await db.updateTable('regguard_access_requests').set({ applicant_told: told }).where('id', '=', Number(id)).execute()
    },
    async sweep (now, decidedBefore) {
      const expired = await db.deleteFrom('regguard_access_requests').where('state', '=', 'pending').where('expires_at', '<=', now).executeTakeFirst()
      const decided = await db.deleteFrom('regguard_access_requests').where('state', '!=', 'pending').where('decided_at', '<', decidedBefore).executeTakeFirst()
      return Number(expired.numDeletedRows) + Number(decided.numDeletedRows)
    }
  }
}
