import { domainToASCII } from 'node:url'
import { casefold, pyLen, pyStrip } from './casefold.js'
import type { Canonical } from './msisdn.js'

export { canonicalMsisdn, canonicalMsisdnNumber } from './msisdn.js'
export type { Canonical } from './msisdn.js'

export type Medium = 'email' | 'msisdn'

const MAX_EMAIL_LENGTH = 500 // synapse.util.threepids.MAX_EMAIL_ADDRESS_LENGTH
const LDH = /^[a-z0-9_.-]*$/
const ASCII_NOT_LDH = /[\x00-\x2c\x2f\x3a-\x5e\x60\x7b-\x7f]/

/**
 * A domain as regguard compares it: lower-cased, IDNA/UTS-46 to ASCII, one trailing dot
 * dropped. Returns null when the name cannot be converted. Plain ASCII names skip the UTS-46
 * call (it is the identity for them) so a million-entry list loads quickly.
 */
export function canonicalDomain (domain: string): string | null {
  let d = domain.toLowerCase()
  if (!LDH.test(d)) {
    // domainToASCII parses a URL host: it percent-decodes and cuts at "/", so "good.org/x" or
    // "go%6fd.org" would come out as "good.org" while Synapse stores the text as given
    if (ASCII_NOT_LDH.test(d)) return null
    d = domainToASCII(d)
    if (d === '' || !LDH.test(d)) return null
  }
  if (d.endsWith('.')) d = d.slice(0, -1)
  if (d === '' || d.startsWith('.') || d.endsWith('.') || d.includes('..')) return null
  return d
}

/**
 * Synapse's validate_email (strip, exactly one "@", local part casefold(), domain lower(),
 * 3..500 characters), then the domain in IDNA ASCII form so every spelling of a domain meets
 * the same rule.
 */
export function canonicalEmail (raw: unknown): Canonical {
  if (typeof raw !== 'string') return { ok: false, reason: 'email is not a string' }
  const stripped = pyStrip(raw)
  const parts = stripped.split('@')
  if (parts.length !== 2) return { ok: false, reason: 'not exactly one @' }
  const local = casefold(parts[0] as string)
  const synapseForm = local + '@' + (parts[1] as string).toLowerCase()
  const len = pyLen(synapseForm)
  if (len < 3 || len > MAX_EMAIL_LENGTH) return { ok: false, reason: 'length out of range' }
  const domain = canonicalDomain(parts[1] as string)
  if (domain === null) return { ok: false, reason: 'domain is not a valid host name' }
  return { ok: true, address: local + '@' + domain }
}

/** The domain part of a canonical email address. */
export function domainOf (canonicalEmailAddress: string): string {
  return canonicalEmailAddress.slice(canonicalEmailAddress.lastIndexOf('@') + 1)
}
