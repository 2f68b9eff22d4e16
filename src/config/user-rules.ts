import type { Policy } from '../policy/policy.js'
import { compileIpRules } from '../policy/requester.js'
import { compileConstraints } from '../policy/string-constraints.js'
import { registeredLocalpart } from '../policy/username.js'
import type { Settings } from './settings.js'

// Compiles register.policy.username and register.policy.requester (MAS-style rules) into the
// policy. Every problem names its key.

export function addUserRules (policy: Policy, settings: Settings): void {
  const p = settings.register.policy
  const key = 'register.policy'
  policy.username = {
    allowed: compileConstraints(p.username.allowed, `${key}.username.allowed`, registeredLocalpart),
    banned: compileConstraints(p.username.banned, `${key}.username.banned`, registeredLocalpart)
  }
  policy.requester = {
    ...compileIpRules(p.requester.banned_ips, `${key}.requester.banned_ips`),
    userAgents: compileConstraints(p.requester.banned_user_agents, `${key}.requester.banned_user_agents`)
  }
}
