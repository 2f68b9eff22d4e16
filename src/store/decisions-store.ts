import { sql, type Kysely, type Selectable } from 'kysely'
import { InvalidPageToken, pageTokens } from './page-token.js'
import { num } from './rows.js'
import type { Database, DecisionsTable } from './schema.js'
import type { Decision, DecisionStore } from './store.js'

// The decision history over kysely, the same SQL for SQLite and PostgreSQL.

const HOUR_MS = 3_600_000
// 10 columns a row: 500 rows stay far below SQLite's and PostgreSQL's bound-parameter limits
const ROWS_PER_INSERT = 500

function toDecision (r: Selectable<DecisionsTable>): Decision {
  return {
    id: String(r.id),
    at: num(r.at),
    endpoint: r.endpoint,
    medium: r.medium,
    result: r.result === 'allow' ? 'allow' : 'deny',
    rule: r.rule,
    detail: r.detail,
    client_ip: r.client_ip,
    address: r.address,
    domain: r.domain,
    count: num(r.count)
  }
}

const decisionPages = pageTokens('d')

export function kyselyDecisions (db: Kysely<Database>): DecisionStore {
  return {
    async addMany (decisions) {
      for (let i = 0; i < decisions.length; i += ROWS_PER_INSERT) {
        await db.insertInto('regguard_decisions').values(decisions.slice(i, i + ROWS_PER_INSERT).map((d) => ({ ...d, count: d.count ?? 1 }))).execute()
      }
    },
    async list (query) {
      let q = db.selectFrom('regguard_decisions').selectAll()
      if (query.result !== undefined) q = q.where('result', '=', query.result)
      if (query.rule !== undefined) q = q.where('rule', '=', query.rule)
      if (query.medium !== undefined) q = q.where('medium', '=', query.medium)
      if (query.domain !== undefined) q = q.where('domain', '=', query.domain)
      if (query.address !== undefined) q = q.where('address', '=', query.address)
      if (query.from !== undefined) {
        const before = decisionPages.decode(query.from)
        if (before === null) throw new InvalidPageToken('invalid page token')
        q = q.where('id', '<', before)
      }
      const rows = await q.orderBy('id', 'desc').limit(query.limit + 1).execute()
      const decisions = rows.slice(0, query.limit).map(toDecision)
      const last = decisions[decisions.length - 1]
      return rows.length > query.limit && last !== undefined ? { decisions, next: decisionPages.encode(last.id) } : { decisions }
    },
    async summary (sinceMs, now) {
      // literals, not parameters: PostgreSQL matches the GROUP BY expression to the selected one
      const hour = sql<number | string>`(at / ${sql.lit(HOUR_MS)}) * ${sql.lit(HOUR_MS)}`
      const rows = await db.selectFrom('regguard_decisions')
        .select([hour.as('hour'), 'result', 'rule', (eb) => eb.fn.sum<number | string>('count').as('count')])
        .where('at', '>=', sinceMs).where('at', '<', now)
        .groupBy([hour, 'result', 'rule'])
        .orderBy('hour', 'asc').orderBy('result', 'asc').orderBy('rule', 'asc')
        .execute()
      return rows.map((r) => ({ hour: num(r.hour), result: r.result, rule: r.rule, count: num(r.count) }))
    },
    async sweep (before) {
      const r = await db.deleteFrom('regguard_decisions').where('at', '<', before).executeTakeFirst()
      return Number(r.numDeletedRows)
    },
    async trim (maxRows, atMost) {
      // the newest id less maxRows, the oldest plus atMost: lookups on the primary key, however
      // big the table
      const ends = await db.selectFrom('regguard_decisions').select((eb) => [eb.fn.min('id').as('oldest'), eb.fn.max('id').as('newest')]).executeTakeFirst()
      if (ends?.oldest === null || ends?.oldest === undefined || ends.newest === null) return { rows: 0, decisions: 0 }
      const oldest = num(ends.oldest as number | string)
      const cutoff = Math.min(num(ends.newest as number | string) - maxRows, oldest + atMost - 1)
      if (cutoff < oldest) return { rows: 0, decisions: 0 }
      return await db.transaction().execute(async (trx) => {
        const dropped = await trx.selectFrom('regguard_decisions').select((eb) => eb.fn.sum<number | string>('count').as('n')).where('id', '<=', cutoff).executeTakeFirst()
        const r = await trx.deleteFrom('regguard_decisions').where('id', '<=', cutoff).executeTakeFirst()
        return { rows: Number(r.numDeletedRows), decisions: dropped?.n === null || dropped?.n === undefined ? 0 : num(dropped.n) }
      })
    }
  }
}
