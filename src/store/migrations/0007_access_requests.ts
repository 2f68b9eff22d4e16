import type { Kysely, Migration } from 'kysely'

// Issue 25: access requests, asked for by addresses only the default rule denied. `pending_key`
// holds "medium:address" while the request is pending and NULL once decided or expired, so one
// unique index keeps one pending request per address on both backends (NULLs never collide).

export const accessRequestsMigration = (dialect: 'sqlite' | 'postgres'): Migration => ({
  async up (db: Kysely<any>) {
    await db.schema.createTable('regguard_access_requests')
      .addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) => dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey())
      .addColumn('medium', 'text', (c) => c.notNull())
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('pending_key', 'text')
      .addColumn('client_ip', 'text', (c) => c.notNull())
      .addColumn('user_agent', 'text', (c) => c.notNull())
      .addColumn('first_seen', 'bigint', (c) => c.notNull())
      .addColumn('last_seen', 'bigint', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('decided_at', 'bigint')
      .addColumn('decided_by', 'text')
      .addColumn('reason', 'text')
      .addColumn('invite_id', 'text')
      .addColumn('applicant_told', 'text')
      .execute()
    await db.schema.createIndex('regguard_access_requests_pending').unique()
      .on('regguard_access_requests').column('pending_key').execute()
    await db.schema.createIndex('regguard_access_requests_by_address')
      .on('regguard_access_requests').columns(['medium', 'address', 'state']).execute()
  },
  async down (db: Kysely<any>) {
    await db.schema.dropTable('regguard_access_requests').execute()
  }
})
