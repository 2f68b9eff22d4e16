import * as libphonenumber from 'libphonenumber-js'
import type { CountryCode } from 'libphonenumber-js'
import { pyStrip } from './casefold.js'
import { PhoneParseError, phonenumbersParse } from './phonenumbers-parse.js'

export type Canonical =
  | { ok: true, address: string }
  | { ok: false, reason: string }

const ASCII = /^[\x00-\x7f]*$/

type PhoneLib = Pick<typeof import('libphonenumber-js'), 'isSupportedCountry' | 'parsePhoneNumberWithError'>

/**
 * libphonenumber-js through its public entry, imported with this module. `load` is replaced by
 * tests only (a broken installation's failure).
 */
export const phoneLib: { load: () => PhoneLib } = {
  load: () => libphonenumber
}
let loaded: PhoneLib | undefined

function lib (): PhoneLib {
  if (loaded !== undefined) return loaded
  try {
    loaded = phoneLib.load()
  } catch (err) {
    // a broken installation: the request fails (500, logged) and the next one tries again
    throw new Error(`cannot load libphonenumber-js, needed to read phone numbers: ${(err as Error).message}`, { cause: err })
  }
  return loaded
}

/** Forgets the loaded library (tests of the first load). */
export function unloadPhoneLib (): void { loaded = undefined }

/**
 * Synapse's phone_number_to_msisdn: phonenumbers.parse(number, country) as E.164 without the "+",
 * read by a replay of Python phonenumbers 8.12.57 (phonenumbers-parse.ts). Refused (400
 * M_INVALID_PARAM, as Synapse answers what it cannot parse) wherever that reading could differ
 * from the homeserver's or the identity server's:
 *
 * - vanity numbers (3+ letters: "1-800-FLOWERS"), which keypad letters turn into digits: a policy
 *   written for numbers should not have to guess at spellings, and Synapse's answer to them
 *   changed over phonenumbers versions;
 * - a country that is not ASCII (Python upper-cases it with its own Unicode rules);
 * - a number whose reading depends on the metadata version: the same ASCII digits are read again
 *   by libphonenumber-js with its newer metadata, and any disagreement (or a number it refuses)
 *   is refused, so a homeserver on a newer phonenumbers reads what regguard judged too.
 */
export function canonicalMsisdn (country: unknown, phoneNumber: unknown): Canonical {
  if (typeof country !== 'string' || typeof phoneNumber !== 'string') {
    return { ok: false, reason: 'country and phone_number must be strings' }
  }
  if (!ASCII.test(country)) return { ok: false, reason: 'country is not ASCII' }
  let parsed
  try {
    parsed = phonenumbersParse(phoneNumber, country)
  } catch (err) {
    if (err instanceof PhoneParseError) return { ok: false, reason: err.kind === 'VANITY' ? 'letters in the number' : err.kind }
    // a reading regguard cannot finish is refused like one Python cannot: 400, nothing forwarded
    return { ok: false, reason: 'unreadable: ' + (err as Error).message }
  }
  return crossCheck(parsed.normalised, country, parsed.msisdn)
}

function crossCheck (normalised: string, country: string, msisdn: string): Canonical {
  const { isSupportedCountry, parsePhoneNumberWithError } = lib()
  try {
    const defaultCountry = isSupportedCountry(country) ? country as CountryCode : undefined
    const other = parsePhoneNumberWithError(normalised, { defaultCountry, extract: false })
    if (other.number === '+' + msisdn) return { ok: true, address: msisdn }
    return { ok: false, reason: 'read differently with newer metadata' }
  } catch (err) {
    return { ok: false, reason: 'refused with newer metadata: ' + (err as Error).message }
  }
}

/** An msisdn given whole (CLI, invites, 3pid-checker): digits with or without "+", spaces allowed. */
export function canonicalMsisdnNumber (raw: unknown): Canonical {
  if (typeof raw !== 'string') return { ok: false, reason: 'msisdn is not a string' }
  const s = pyStrip(raw)
  return canonicalMsisdn('', s.startsWith('+') ? s : '+' + s)
}
