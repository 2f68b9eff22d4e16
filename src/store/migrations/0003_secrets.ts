import type { Kysely, Migration } from 'kysely'

// Secrets regguard makes once and every instance must share (the key of the address hashes in
// the logs): one row per name, never rewritten.
export const secretsMigration: Migration = {
  async up (db: Kysely<any>) {
    await db.schema.createTable('regguard_secrets')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute()
  },
  async down (db: Kysely<any>) {
    await db.schema.dropTable('regguard_secrets').execute()
  }
}
