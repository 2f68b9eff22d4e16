import type { Kysely, Migration } from 'kysely'
import type { Dialect } from '../migrations.js'

// The decision history (issue 11): one row per policy decision, written in batches by
// src/audit/recorder.ts, deleted after audit.retention. `address` is redacted as the logs
// redact it; `domain` (emails only) is kept whole in its own column so it can be filtered on,
// since the redacted local part is a hash.

export function decisionsMigration (dialect: Dialect): Migration {
  return {
    async up (db: Kysely<any>) {
      await db.schema.createTable('regguard_decisions')
        .addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) => dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('medium', 'text', (c) => c.notNull())
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('client_ip', 'text', (c) => c.notNull())
        .addColumn('address', 'text')
        .addColumn('domain', 'text')
        .execute()
      // the sweep and the hourly summary range over time
      await db.schema.createIndex('regguard_decisions_by_time').on('regguard_decisions').column('at').execute()
      await db.schema.createIndex('regguard_decisions_by_domain').on('regguard_decisions').columns(['domain', 'id']).execute()
    },
    async down (db: Kysely<any>) {
      await db.schema.dropTable('regguard_decisions').execute()
    }
  }
}
