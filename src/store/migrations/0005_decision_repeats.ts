import type { Kysely, Migration } from 'kysely'

// A flood of one request (same endpoint, address, verdict, rule and client) is kept as one row
// with its count rather than a row per request: the history stays readable, the disk is not
// filled by repeats, and the gate does not spend its time writing them (src/audit/recorder.ts).

export const decisionRepeatsMigration: Migration = {
  async up (db: Kysely<any>) {
    await db.schema.alterTable('regguard_decisions')
      .addColumn('count', 'integer', (c) => c.notNull().defaultTo(1)).execute()
  },
  async down (db: Kysely<any>) {
    await db.schema.alterTable('regguard_decisions').dropColumn('count').execute()
  }
}
