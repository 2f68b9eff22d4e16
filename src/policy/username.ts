import { describeMatch, matchConstraints, type StringConstraints } from './string-constraints.js'

// Username rules at /register, as MAS's registration.allowed_usernames / banned_usernames
// (policies/register/register.rego): a banned match denies; when `allowed` has any entry, the
// username must match one. They judge the localpart Synapse will use, and they are a gate of
// their own: a pending 3PID invite or an allowed address does not lift them.

export interface UsernameRules {
  allowed: StringConstraints
  banned: StringConstraints
}

export type UsernameRule = 'username.banned' | 'username.allowed'

export interface UsernameDecision {
  allowed: boolean
  /** null: no username rule applied (nothing configured matched or was required) */
  rule: UsernameRule | null
  detail: string
  /** the request named no username (the homeserver would generate one) */
  missing?: true
}

/**
 * The localpart Synapse registers for a requested username: `desired_username.lower()`
 * (RegisterRestServlet._do_user_register). Python's str.lower() and String#toLowerCase()
 * apply the same full Unicode lower-case mapping (e.g. KELVIN SIGN to "k"), which matters
 * because a non-ASCII spelling can lower-case to a valid, banned ASCII name.
 */
export function registeredLocalpart (username: string): string {
  return username.toLowerCase()
}

export function hasUsernameRules (rules: UsernameRules | undefined): rules is UsernameRules {
  return rules !== undefined && (rules.allowed.size > 0 || rules.banned.size > 0)
}

/**
 * Decides a localpart (already lower-cased), or `null` for a request that lets the homeserver
 * generate one (a number): no entry was written for a name nobody chose, so an `allowed` list
 * refuses it, while banned entries (about chosen names) have nothing to match.
 */
export function decideUsername (rules: UsernameRules, localpart: string | null): UsernameDecision {
  if (localpart === null) {
    if (rules.allowed.size > 0) return { allowed: false, rule: 'username.allowed', detail: 'no username given (the homeserver would generate one)', missing: true }
    return { allowed: true, rule: null, detail: 'no username given', missing: true }
  }
  const banned = matchConstraints(rules.banned, localpart)
  if (banned !== undefined) return { allowed: false, rule: 'username.banned', detail: describeMatch(banned) }
  if (rules.allowed.size === 0) return { allowed: true, rule: null, detail: 'no username rule matched' }
  const allowed = matchConstraints(rules.allowed, localpart)
  if (allowed === undefined) return { allowed: false, rule: 'username.allowed', detail: 'no entry matched' }
  return { allowed: true, rule: 'username.allowed', detail: describeMatch(allowed) }
}

export function describeUsernameDecision (d: UsernameDecision): string {
  const verb = d.allowed ? 'allowed' : 'denied'
  return d.rule === null ? `${verb} (${d.detail})` : `${verb} by ${d.rule} ${d.detail}`
}
