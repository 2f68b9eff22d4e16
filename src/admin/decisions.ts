import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.js'
import { canonicalDomain } from '../synapse/canonical.js'
import { canonicalInviteAddress } from '../invites/learn.js'
import { InvalidPageToken } from '../store/page-token.js'
import type { DecisionQuery } from '../store/store.js'
import { ADMIN_PREFIX } from './invites.js'
import { boundedInt, fail, single, withAdminToken } from './scope.js'

// The decision history on the admin listener, behind admin.token:
//   GET /_regguard/admin/v1/decisions?from=&limit=&result=&rule=&medium=&domain=&address=
//       -> {"decisions": [...newest first], "next_from"?}
//   GET /_regguard/admin/v1/decisions/summary?hours=24
//       -> {"from", "to", "buckets": [{"hour", "result", "rule", "count"}], "history": {...}}

const DEFAULT_LIMIT = 100
const MAX_LIMIT = 1000
const MAX_HOURS = 24 * 31
const HOUR_MS = 3_600_000
// rule and medium are names regguard writes (whitelist, require_3pid, msisdn, none, ...)
const NAME = /^[a-z0-9_]{1,32}$/

export function adminDecisionRoutes (admin: FastifyInstance, ctx: AppContext): void {
  withAdminToken(admin, ctx, (scope) => {
    scope.get(`${ADMIN_PREFIX}/decisions`, async (request, reply) => {
      const q = request.query
      const keys = ['from', 'limit', 'result', 'rule', 'medium', 'domain', 'address'] as const
      const v = new Map(keys.map((k) => [k, single(q, k)]))
      if ([...v.values()].some((x) => x === null)) return fail(reply, 'INVALID_PARAM', 'each parameter may be given once')
      const get = (k: typeof keys[number]): string | undefined => v.get(k) ?? undefined
      const query: DecisionQuery = { limit: DEFAULT_LIMIT }
      const limit = get('limit')
      if (limit !== undefined) {
        const n = boundedInt(limit, 1, MAX_LIMIT)
        if (n === null) return fail(reply, 'INVALID_PARAM', `limit must be between 1 and ${MAX_LIMIT}`)
        query.limit = n
      }
      const result = get('result')
      if (result !== undefined) {
        if (result !== 'allow' && result !== 'deny') return fail(reply, 'INVALID_PARAM', 'result must be "allow" or "deny"')
        query.result = result
      }
      for (const k of ['rule', 'medium'] as const) {
        const x = get(k)
        if (x === undefined) continue
        if (!NAME.test(x)) return fail(reply, 'INVALID_PARAM', `${k} must be a rule or medium name such as ${k === 'rule' ? '"blacklist"' : '"email"'}`)
        query[k] = x
      }
      const domain = get('domain')
      if (domain !== undefined) {
        const d = canonicalDomain(domain.trim())
        if (d === null) return fail(reply, 'INVALID_PARAM', 'domain is not a valid domain name')
        query.domain = d
      }
      const address = get('address')
      if (address !== undefined) {
        // looked up as the history holds it: canonical, then redacted under today's log settings
        const medium = query.medium
        if (medium !== 'email' && medium !== 'msisdn') return fail(reply, 'INVALID_PARAM', 'address needs medium "email" or "msisdn"')
        const c = canonicalInviteAddress(medium, address)
        if (c === null) return fail(reply, 'INVALID_PARAM', `address is not a valid ${medium === 'email' ? 'email address' : 'phone number'}`)
        query.address = ctx.redactAddress(medium, c.address)
      }
      const from = get('from')
      if (from !== undefined) query.from = from
      try {
        const page = await ctx.store.decisions.list(query)
        return page.next === undefined ? { decisions: page.decisions } : { decisions: page.decisions, next_from: page.next }
      } catch (err) {
        if (err instanceof InvalidPageToken) return fail(reply, 'INVALID_PARAM', 'from is not a token this API gave out')
        throw err
      }
    })

    scope.get(`${ADMIN_PREFIX}/decisions/summary`, async (request, reply) => {
      const text = single(request.query, 'hours')
      if (text === null) return fail(reply, 'INVALID_PARAM', 'each parameter may be given once')
      const hours = text === undefined ? 24 : boundedInt(text, 1, MAX_HOURS)
      if (hours === null) return fail(reply, 'INVALID_PARAM', `hours must be between 1 and ${MAX_HOURS}`)
      const now = Date.now()
      // whole hours: the oldest bucket is complete, the newest is the hour in progress
      const from = (Math.floor(now / HOUR_MS) - hours + 1) * HOUR_MS
      const buckets = await ctx.store.decisions.summary(from, now + 1)
      const a = ctx.audit
      return { from, to: now, hours, buckets, history: { queued: a.queued, dropped: a.dropped, written: a.written, retention_ms: ctx.runtime().config.settings.audit.retention } }
    })
  })
}
