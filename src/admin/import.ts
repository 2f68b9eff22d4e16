import type { FastifyInstance } from 'fastify'
import { CommandError, parseImport } from '../cli/invites.js'
import type { AppContext } from '../context.js'
import { ADMIN_PREFIX } from './invites.js'
import { fail, withAdminToken } from './scope.js'

// POST /_regguard/admin/v1/invites/import  (body: the CSV file, "medium,address" a line)
//   -> 201 {"imported": N}; a bad line -> 400 M_INVALID_PARAM naming it, nothing imported.
// The same file format and the same all-or-nothing transaction as `regguard invites import`.

const BODY_LIMIT = 4 * 1024 * 1024

export function adminImportRoutes (admin: FastifyInstance, ctx: AppContext): void {
  withAdminToken(admin, ctx, (scope) => {
    // any Content-Type: browsers send text/csv, curl --data-binary sends a form type
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => { done(null, body) })
    scope.post(`${ADMIN_PREFIX}/invites/import`, async (request, reply) => {
      const raw = request.body
      const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : ''
      const { config } = ctx.runtime()
      let invites
      try {
        invites = parseImport(text, 'line', Date.now() + config.settings.invites.ttl)
      } catch (err) {
        if (err instanceof CommandError) return fail(reply, 'INVALID_PARAM', err.message)
        throw err
      }
      if (invites.length === 0) return fail(reply, 'INVALID_PARAM', 'the file has no "medium,address" line; nothing imported')
      const added = await ctx.store.invites.addMany(invites)
      ctx.metrics.invitesRecorded.inc({ source: 'import' }, added.length)
      request.log.info({ invites: added.length }, 'invites imported through the admin API')
      return reply.code(201).send({ imported: added.length })
    })
  })
}
