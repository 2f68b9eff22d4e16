import type { Kysely, Migration } from 'kysely'
import { inviteLearning } from './migrations/0002_invite_learning.js'
import { secretsMigration } from './migrations/0003_secrets.js'
import { decisionsMigration } from './migrations/0004_decisions.js'
import { decisionRepeatsMigration } from './migrations/0005_decision_repeats.js'
import { registrationsMigration } from './migrations/0006_registrations.js'
import { accessRequestsMigration } from './migrations/0007_access_requests.js'
import { decisionsByAddressMigration } from './migrations/0008_decisions_by_address.js'

// Migrations live in code (not files read at run time) so the installed package carries them.
// Names sort in the order they run; never edit one that has shipped, add the next.

export type Dialect = 'sqlite' | 'postgres'

export function migrations (dialect: Dialect): Record<string, Migration> {
  return {
    '0001_invites_sessions_rate_limits': {
      async up (db: Kysely<any>) {
        await db.schema.createTable('regguard_invites')
          // SQLite: INTEGER PRIMARY KEY AUTOINCREMENT never reuses an id, so a revoked id stays unique
          .addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) => dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey())
          .addColumn('medium', 'text', (c) => c.notNull())
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('room_id', 'text')
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute()
        await db.schema.createIndex('regguard_invites_by_address')
          .on('regguard_invites').columns(['medium', 'address', 'id']).execute()

        await db.schema.createTable('regguard_sessions')
          .addColumn('client_secret', 'text', (c) => c.notNull())
          .addColumn('sid', 'text', (c) => c.notNull())
          .addColumn('medium', 'text', (c) => c.notNull())
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('endpoint', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('regguard_sessions_pk', ['client_secret', 'sid'])
          .execute()
        await db.schema.createIndex('regguard_sessions_by_expiry')
          .on('regguard_sessions').column('expires_at').execute()

        await db.schema.createTable('regguard_rate_limits')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('window_start', 'bigint', (c) => c.notNull())
          .addColumn('count', 'integer', (c) => c.notNull())
          .execute()
      },
      async down (db: Kysely<any>) {
        await db.schema.dropTable('regguard_rate_limits').execute()
        await db.schema.dropTable('regguard_sessions').execute()
        await db.schema.dropTable('regguard_invites').execute()
      }
    },
    '0002_invite_learning': inviteLearning(dialect),
    '0003_secrets': secretsMigration,
    '0004_decisions': decisionsMigration(dialect),
    '0005_decision_repeats': decisionRepeatsMigration,
    '0006_registrations': registrationsMigration,
    '0007_access_requests': accessRequestsMigration(dialect),
    '0008_decisions_by_address': decisionsByAddressMigration
  }
}
