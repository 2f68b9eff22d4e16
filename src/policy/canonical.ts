import { domainToASCII } from 'node:url'
import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js'
import { casefold, pyLen, pyStrip } from './casefold.js'

export type Medium = 'email' | 'msisdn'

export type Canonical =
  | { ok: true, address: string }
  | { ok: false, reason: string }

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
  if (isVanityNumber(phoneNumber)) return { ok: false, reason: 'letters in the number' }
  try {
    // Python's phonenumbers reads U+FF0B FULLWIDTH PLUS SIGN as "+" (_PLUS_CHARS); libphonenumber-js does not
    const number = phoneNumber.replace(/\uff0b/g, '+')
    // no upper-casing: Python's phonenumbers refuses "gb", so Synapse answers 400 to it
    const region = country === '' ? undefined : country as CountryCode
    const parsed = parsePhoneNumberWithError(number, { defaultCountry: region })
    return { ok: true, address: parsed.number.slice(1) }
  } catch (err) {
    return { ok: false, reason: (err as Error).message }
  }
}

// Python's phonenumbers reads a number with 3 or more letters as a vanity number
// ("1-800-FLOWERS" -> 18003569377) where libphonenumber-js stops at the first letter (11800):
// the policy would judge another number than the one Synapse stores. Such numbers are refused,
// unless the letters are only an extension marker ("07700 900123 ext. 5"), which both strip.
const NUMBER_START = /[\p{Nd}+\uff0b]/u
const EXTENSION_TAIL = /^(?:ext|extn|extension|xtn|anexo|x)\.?\s*[:\uff1a.]?\s*\p{Nd}{1,7}#?\s*$/iu

function isVanityNumber (phoneNumber: string): boolean {
  const start = phoneNumber.search(NUMBER_START)
  if (start === -1) return false
  const rest = phoneNumber.slice(start)
  if ((rest.match(/[A-Za-z]/g)?.length ?? 0) < 3) return false
  return !EXTENSION_TAIL.test(rest.slice(rest.search(/[A-Za-z]/)))
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
