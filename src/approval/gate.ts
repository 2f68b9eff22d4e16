import type { GateRequest } from '../gate/request.js'
import type { AppContext } from '../context.js'
import type { Decision } from '../policy/policy.js'
import type { Medium } from '../synapse/canonical.js'
import { withDeadline } from '../deadline.js'
import type { HitCounter } from '../ratelimit/counter.js'
import { askToJoin, firstUserAgent } from './ask.js'

// What the requestToken route does with a policy denial besides answering it: with
// register.approval.enabled, a registration address only the default rule denied asks to join
// (the answer then carries register.approval.message); otherwise the denial may be notified
// (notify.denials). Never throws: the denial is answered whatever happens here.

/** The error text to answer with when an access request stands for this denial; null: the ordinary denial. */
export async function afterDenial (ctx: AppContext, request: GateRequest, endpoint: 'register' | 'account', medium: Medium, address: string, decision: Decision): Promise<string | null> {
  const settings = ctx.runtime().config.settings
  const approval = settings.register.approval
  // a blacklist, an mx rule or an invite rule decided: the operator said no already
  if (approval.enabled && endpoint === 'register' && decision.rule === 'default') {
    const asked = await askToJoin({ store: ctx.store, counter: boundedCounter(ctx), settings: () => ctx.runtime().config.settings, log: request.log }, { ip: request.ip, userAgent: firstUserAgent(request.raw.rawHeaders) }, medium, address)
    if (asked.recorded) {
      if (asked.created) {
        request.log.info({ access_request: asked.request.id, medium, address: ctx.redactAddress(medium, address), client_ip: request.ip }, 'access request recorded')
        ctx.notify?.accessRequested({ id: asked.request.id, medium, address: ctx.redactAddress(medium, address), client_ip: request.ip })
      }
      return approval.message
    }
    request.log.info({ medium, address: ctx.redactAddress(medium, address), why: asked.why, client_ip: request.ip }, 'access request not recorded')
  }
  ctx.notify?.denied({ endpoint, medium, address: ctx.redactAddress(medium, address), rule: decision.rule, detail: decision.detail.slice(0, 256), client_ip: request.ip })
  return null
}

/** The rate-limit counter, each hit bounded as register.rate_limit.timeout_ms bounds the limits' */
function boundedCounter (ctx: AppContext): HitCounter {
  const counter = ctx.counter
  if (counter.settlesInTime === true) return counter
  return { hit: async (key, windowMs, now) => await withDeadline(counter.hit(key, windowMs, now), ctx.runtime().config.settings.register.rate_limit.timeout_ms, 'rate-limit counter') }
}
