import type { Kysely, Migration } from 'kysely'

// The console's lookup by address: the history is filtered on the address as the logs redact it
// (a keyed hash unless log.full_addresses), newest first, so the index runs (address, id).

export const decisionsByAddressMigration: Migration = {
  async up (db: Kysely<any>) {
    await db.schema.createIndex('regguard_decisions_by_address').on('regguard_decisions').columns(['address', 'id']).execute()
  },
  async down (db: Kysely<any>) {
    await db.schema.dropIndex('regguard_decisions_by_address').execute()
  }
}
