import type { Kysely, Migration } from 'kysely'
import type { Dialect } from '../migrations.js'

// Issue 8: learned invites name their inviter (NULL for every invite made before, which keeps
// working), and PUT transaction keys are remembered so a replay teaches nothing.

export function inviteLearning (_dialect: Dialect): Migration {
  return {
    async up (db: Kysely<any>) {
      await db.schema.alterTable('regguard_invites').addColumn('inviter', 'text').execute()
      await db.schema.createIndex('regguard_invites_by_inviter')
        .on('regguard_invites').columns(['inviter', 'created_at']).execute()

      await db.schema.createTable('regguard_txns')
        .addColumn('key', 'text', (c) => c.primaryKey())
        // which request claimed it first (random); the others see a different one
        .addColumn('claim', 'text', (c) => c.notNull())
        // running: the first request is at the homeserver; contested: another came meanwhile;
        // done: answered
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('regguard_txns_by_expiry')
        .on('regguard_txns').column('expires_at').execute()
    },
    async down (db: Kysely<any>) {
      await db.schema.dropTable('regguard_txns').execute()
      await db.schema.dropIndex('regguard_invites_by_inviter').execute()
      await db.schema.alterTable('regguard_invites').dropColumn('inviter').execute()
    }
  }
}
