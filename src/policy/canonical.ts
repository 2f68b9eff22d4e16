import { domainToASCII } from 'node:url'
import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js'
import { casefold, pyLen, pyStrip } from './casefold.js'

export type Medium = 'email' | 'msisdn'

export type Canonical =
  | { ok: true, address: string }
  | { ok: false, reason: string }

const MAX_EMAIL_LENGTH = 500 // synapse.util.threepids.MAX_EMAIL_ADDRESS_LENGTH
const LDH = /^[a-z0-9_.-]*$/

/**
 * A domain as regguard compares it: lower-cased, IDNA/UTS-46 to ASCII, one trailing dot
 * dropped. Returns null when the name cannot be converted. Plain ASCII names skip the UTS-46
 * call (it is the identity for them) so a million-entry list loads quickly.
 */
export function canonicalDomain (domain: string): string | null {
  let d = domain.toLowerCase()
  if (!LDH.test(d)) {
    d = domainToASCII(d)
    if (d === '') return null
  }
  if (d.endsWith('.')) d = d.slice(0, -1)
  if (d === '' || d.startsWith('.') || d.includes('..')) return null
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
  const synapseForm = casefold(parts[0] as string) + '@' + (parts[1] as string).toLowerCase()
  const len = pyLen(synapseForm)
  if (len < 3 || len > MAX_EMAIL_LENGTH) return { ok: false, reason: 'length out of range' }
  const domain = canonicalDomain(parts[1] as string)
  if (domain === null) return { ok: false, reason: 'domain is not a valid host name' }
  return { ok: true, address: casefold(parts[0] as string) + '@' + domain }
}

/** Synapse's phone_number_to_msisdn: parse(number, country) as E.164 without the "+". */
export function canonicalMsisdn (country: unknown, phoneNumber: unknown): Canonical {
  if (typeof country !== 'string' || typeof phoneNumber !== 'string') {
    return { ok: false, reason: 'country and phone_number must be strings' }
  }
  try {
    const region = country === '' ? undefined : country.toUpperCase() as CountryCode
    const parsed = parsePhoneNumberWithError(phoneNumber, { defaultCountry: region })
    return { ok: true, address: parsed.number.slice(1) }
  } catch (err) {
    return { ok: false, reason: (err as Error).message }
  }
}

/** An msisdn given whole (CLI, 3pid-checker): digits with or without "+", spaces allowed. */
export function canonicalMsisdnNumber (raw: unknown): Canonical {
  if (typeof raw !== 'string') return { ok: false, reason: 'msisdn is not a string' }
  const s = pyStrip(raw)
  return canonicalMsisdn('', s.startsWith('+') ? s : '+' + s)
}

/** The domain part of a canonical email address. */
export function domainOf (canonicalEmailAddress: string): string {
  return canonicalEmailAddress.slice(canonicalEmailAddress.lastIndexOf('@') + 1)
}
