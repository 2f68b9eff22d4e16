import type { Kysely, Migration } from 'kysely'

// Issue 22: what regguard itself let through /register. `regguard_uia`: per user-interactive
// auth session, the 3PID stage regguard passed (and the invite that allowed its address) and
// the username last judged and the /register target that opened it, so the request that completes the session can be judged against
// them. `regguard_registrations`: the account Synapse answered for such a session, so an account
// that registered through a learned invite can be told apart when it invites in turn.

export const registrationsMigration: Migration = {
  async up (db: Kysely<any>) {
    await db.schema.createTable('regguard_uia')
      .addColumn('session', 'text', (c) => c.primaryKey())
      .addColumn('medium', 'text')
      .addColumn('address', 'text')
      .addColumn('invite_id', 'text')
      .addColumn('invite_source', 'text')
      .addColumn('username', 'text')
      .addColumn('target', 'text')
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('regguard_uia_by_expiry').on('regguard_uia').column('expires_at').execute()

    await db.schema.createTable('regguard_registrations')
      .addColumn('user_id', 'text', (c) => c.primaryKey())
      .addColumn('medium', 'text', (c) => c.notNull())
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('invite_id', 'text')
      .addColumn('invite_source', 'text')
      .addColumn('registered_at', 'bigint', (c) => c.notNull())
      .execute()
  },
  async down (db: Kysely<any>) {
    await db.schema.dropTable('regguard_registrations').execute()
    await db.schema.dropTable('regguard_uia').execute()
  }
}
