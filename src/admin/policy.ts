import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.js'
import { missingParamsMessage } from '../errors.js'
import { pendingInvite } from '../invites/pending.js'
import { canonicalEmail, canonicalMsisdnNumber } from '../synapse/canonical.js'
import { decideAddress } from '../decide.js'
import { describeDecision, type ListSide } from '../policy/policy.js'
import { ADMIN_PREFIX } from './invites.js'
import { fail, single, withAdminToken } from './scope.js'

// The policy in force, for the console, behind admin.token:
//   GET /_regguard/admin/v1/policy                          -> the rules, lists summarised
//   GET /_regguard/admin/v1/policy/check?medium=&address=   -> the decision, as `regguard policy check`

function side (s: ListSide): { domains: number, domain_sources: string[], patterns: string[] } {
  // entries as written: `*example.org` is one, though the set stores it as two ways of matching
  return { domains: s.domains.entries, domain_sources: s.domainSources, patterns: s.patterns.map((p) => p.source) }
}

export function adminPolicyRoutes (admin: FastifyInstance, ctx: AppContext): void {
  withAdminToken(admin, ctx, (scope) => {
    scope.get(`${ADMIN_PREFIX}/policy`, async () => {
      const { config } = ctx.runtime()
      const { policy, settings } = config
      return {
        allowed: policy.allowed,
        invite: policy.invite,
        invite_overrides_blacklist: policy.inviteOverridesBlacklist === true,
        only_check_at_registration: settings.register.policy.only_check_at_registration,
        require_3pid: settings.register.policy.require_3pid,
        email: { whitelist: side(policy.email.whitelist), blacklist: side(policy.email.blacklist) },
        // phone numbers have patterns only; the domain counts stay 0
        msisdn: { whitelist: side(policy.msisdn.whitelist), blacklist: side(policy.msisdn.blacklist) },
        rate_limit: settings.register.rate_limit.enabled ? { per_ip: settings.register.rate_limit.per_ip, per_address: settings.register.rate_limit.per_address } : null,
        invites_ttl_ms: settings.invites.ttl,
        audit_retention_ms: settings.audit.retention,
        full_addresses: settings.log.full_addresses,
        server_name: settings.homeserver.server_name,
        config_file: config.file
      }
    })

    scope.get(`${ADMIN_PREFIX}/policy/check`, async (request, reply) => {
      const medium = single(request.query, 'medium')
      const address = single(request.query, 'address')
      if (medium === null || address === null) return fail(reply, 'INVALID_PARAM', 'each parameter may be given once')
      const absent = [['medium', medium], ['address', address]].filter(([, x]) => x === undefined || x === '').map(([k]) => k as string)
      if (absent.length > 0) return fail(reply, 'MISSING_PARAM', missingParamsMessage(absent))
      if (medium !== 'email' && medium !== 'msisdn') return fail(reply, 'INVALID_PARAM', 'medium must be "email" or "msisdn"')
      const canonical = medium === 'email' ? canonicalEmail(address) : canonicalMsisdnNumber(address)
      if (!canonical.ok) return fail(reply, 'INVALID_PARAM', `cannot parse ${medium} ${JSON.stringify(address)}: ${canonical.reason}`)
      const { config } = ctx.runtime()
      // the invite is looked up as the proxy looks it up (an unreachable store answers 503)
      const { decision } = await decideAddress(config.policy, medium, canonical.address, {
        findInvite: () => pendingInvite(ctx.store, config.policy, medium, canonical.address, ctx.inviteIndex),
        lookupMx: ctx.mx.lookup,
        inviteFirst: true
      })
      return { medium, address: canonical.address, allowed: decision.allowed, rule: decision.rule, detail: decision.detail, description: describeDecision(decision) }
    })
  })
}
