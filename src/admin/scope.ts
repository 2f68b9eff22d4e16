import type { FastifyInstance, FastifyReply } from 'fastify'
import type { AppContext } from '../context.js'
import type { MatrixErrorName } from '../errors.js'
import { replyError } from '../reply.js'
import { checkAdminToken } from './token.js'

// What the read-only admin APIs (decisions, policy) share: the admin.token check and the way
// query parameters are read. The invites API has the same rules in admin-invites.ts.

export function fail (reply: FastifyReply, name: MatrixErrorName, message?: string): FastifyReply {
  return replyError(reply, name, message)
}

/** A query parameter given once, as text; null when repeated (an array), which is refused. */
export function single (query: unknown, key: string): string | undefined | null {
  const q = query as Record<string, unknown>
  if (!Object.hasOwn(q, key)) return undefined
  const v = q[key]
  return typeof v === 'string' ? v : null
}

/** Registers routes in a scope where every request needs `Authorization: Bearer <admin.token>`. */
export function withAdminToken (admin: FastifyInstance, ctx: AppContext, routes: (scope: FastifyInstance) => void): void {
  admin.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      const refused = checkAdminToken(ctx.runtime().config.settings.admin.token, request.headers.authorization)
      if (refused !== null) return fail(reply, refused)
    })
    routes(scope)
  })
}

/** An integer in [min, max] written in decimal digits, else null. */
export function boundedInt (text: string, min: number, max: number): number | null {
  if (!/^[0-9]{1,7}$/.test(text)) return null
  const n = Number(text)
  return n >= min && n <= max ? n : null
}
