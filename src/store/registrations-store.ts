import { sql, type Kysely, type Selectable } from 'kysely'
import type { Medium } from '../synapse/canonical.js'
import { num } from './rows.js'
import type { Database, RegistrationsTable, UiaTable } from './schema.js'
import type { InviteSource, PassedThreepid, RegistrationStore, UiaStore } from './store.js'

// What regguard let through /register (migration 0006): user-interactive auth sessions and the
// accounts they created. Both are written only by requests regguard forwarded, so their number
// follows the homeserver's own sessions and accounts; expired UIA records are deleted by the
// writes themselves, at most once a minute a process.

const UIA_SWEEP_EVERY_MS = 60_000

function passed (r: { medium: string | null, address: string | null, invite_id: string | null, invite_source: string | null }): PassedThreepid | null {
  if (r.medium === null || r.address === null) return null
  return { medium: r.medium as Medium, address: r.address, invite_id: r.invite_id, invite_source: r.invite_source as InviteSource | null }
}

export function kyselyUia (db: Kysely<Database>): UiaStore {
  let sweptAt = -Infinity
  return {
    async note (session, what, expiresAt, now) {
      if (now - sweptAt >= UIA_SWEEP_EVERY_MS) {
        sweptAt = now
        await db.deleteFrom('regguard_uia').where('expires_at', '<=', now).execute()
      }
      const t = what.threepid
      const row: Selectable<UiaTable> = {
        session,
        medium: t?.medium ?? null,
        address: t?.address ?? null,
        invite_id: t?.invite_id ?? null,
        invite_source: t?.invite_source ?? null,
        username: what.username ?? null,
        target: what.target ?? null,
        expires_at: expiresAt
      }
      await db.insertInto('regguard_uia').values(row)
        .onConflict((oc) => oc.column('session').doUpdateSet((eb) => ({
          ...(t !== undefined
            ? { medium: eb.ref('excluded.medium'), address: eb.ref('excluded.address'), invite_id: eb.ref('excluded.invite_id'), invite_source: eb.ref('excluded.invite_source') }
            : {}),
          ...(what.username !== undefined ? { username: eb.ref('excluded.username') } : {}),
          // the URI a session was opened with never changes
          ...(what.target !== undefined ? { target: sql<string>`COALESCE(regguard_uia.target, excluded.target)` } : {}),
          expires_at: eb.ref('excluded.expires_at')
        })))
        .execute()
    },
    async get (session, now) {
      const r = await db.selectFrom('regguard_uia').selectAll().where('session', '=', session).where('expires_at', '>', now).executeTakeFirst()
      return r === undefined ? null : { session: r.session, threepid: passed(r), username: r.username, target: r.target, expires_at: num(r.expires_at) }
    }
  }
}

export function kyselyRegistrations (db: Kysely<Database>): RegistrationStore {
  return {
    async put (r) {
      const row: Selectable<RegistrationsTable> = { user_id: r.user_id, medium: r.medium, address: r.address, invite_id: r.invite_id, invite_source: r.invite_source, registered_at: r.registered_at }
      await db.insertInto('regguard_registrations').values(row)
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ medium: r.medium, address: r.address, invite_id: r.invite_id, invite_source: r.invite_source, registered_at: r.registered_at }))
        .execute()
    },
    async get (userId) {
      const r = await db.selectFrom('regguard_registrations').selectAll().where('user_id', '=', userId).executeTakeFirst()
      if (r === undefined) return null
      return { user_id: r.user_id, medium: r.medium as Medium, address: r.address, invite_id: r.invite_id, invite_source: r.invite_source as InviteSource | null, registered_at: num(r.registered_at) }
    }
  }
}
