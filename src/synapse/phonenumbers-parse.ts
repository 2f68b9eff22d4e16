import { COUNTRY_CODE_TO_REGIONS, DIGIT_RANGES, KEYPAD, NONGEO_PLANS, PATTERNS, REGION_PLANS, SUPPORTED_REGIONS, type PlanData } from './phonenumbers-data.js'
import { pyLen } from './casefold.js'

// Python phonenumbers' parse() (phonenumberutil.py), step for step, with the regular
// expressions, Unicode tables and metadata generated from that Python by
// scripts/gen-phonenumbers.py. Synapse turns (country, phone_number) into an msisdn with it, and
// so does the identity server that sends the SMS: any other reading is a way past the gate.

export type ParseError =
  | 'TOO_LONG' | 'NOT_A_NUMBER' | 'INVALID_COUNTRY_CODE' | 'TOO_SHORT_AFTER_IDD' | 'TOO_SHORT_NSN'
  | 'VANITY' | 'UNCOVERED'

export class PhoneParseError extends Error {
  constructor (readonly kind: ParseError) { super(kind) }
}

export interface Parsed {
  /** E.164 without "+": what Synapse stores and the identity server texts. */
  msisdn: string
  /** The number as parse() saw it once the extension was cut off, digits normalised to ASCII. */
  normalised: string
}

const MAX_INPUT_LENGTH = 250
const MIN_NSN = 2
const MAX_NSN = 17
const MAX_CC = 3
const NON_GEO = '001'

const search = (name: keyof typeof PATTERNS): RegExp => new RegExp(PATTERNS[name], 'u')
const VALID_START = search('VALID_START_CHAR')
const UNWANTED_END = search('UNWANTED_END_CHARS')
const SECOND_NUMBER = search('SECOND_NUMBER_START')
const EXTN = search('EXTN')
const CAPTURING_DIGIT = search('CAPTURING_DIGIT')
const VIABLE = new RegExp(`^(?:${PATTERNS.VALID_PHONE_NUMBER})$`, 'u')
const ALPHA_PHONE = new RegExp(`^(?:${PATTERNS.VALID_ALPHA_PHONE})$`, 'u')
const PLUS_START = new RegExp(`^(?:${PATTERNS.PLUS_CHARS})`, 'u')

const DIGIT = new Map<number, string>()
for (const [first, last, value] of DIGIT_RANGES) {
  for (let cp = first; cp <= last; cp++) DIGIT.set(cp, String(value + cp - first))
}
const KEY = new Map<number, string>(KEYPAD.map(([cp, d]) => [cp, String(d)]))
const SUPPORTED = new Set(SUPPORTED_REGIONS)

interface Plan {
  cc: number
  idd: RegExp | null
  npp: RegExp | null
  nppGroups: number
  npt: readonly [string, number] | null
  nsn: RegExp
  len: readonly number[]
  local: readonly number[]
}

const plans = new Map<string, Plan>()
function compile (key: string, d: PlanData): Plan {
  let plan = plans.get(key)
  if (plan === undefined) {
    const npp = d.npp === null || d.npp === '' ? null : new RegExp(`^(?:${d.npp})`)
    plan = {
      cc: d.cc,
      idd: d.idd === null ? null : new RegExp(`^(?:${d.idd})`),
      npp,
      nppGroups: npp === null ? 0 : (new RegExp(`${npp.source}|`).exec('') as RegExpExecArray).length - 1,
      npt: d.npt,
      nsn: new RegExp(`^(?:${d.nsn})$`),
      len: d.len,
      local: d.local
    }
    plans.set(key, plan)
  }
  return plan
}

function planForRegion (region: string): Plan | null {
  return Object.hasOwn(REGION_PLANS, region) ? compile(region, REGION_PLANS[region] as PlanData) : null
}

function planForCallingCode (cc: number, region: string): Plan | null {
  if (region !== NON_GEO) return planForRegion(region)
  const key = String(cc)
  return Object.hasOwn(NONGEO_PLANS, key) ? compile(NON_GEO + key, NONGEO_PLANS[key] as PlanData) : null
}

function regionForCallingCode (cc: number): string {
  const key = String(cc)
  return Object.hasOwn(COUNTRY_CODE_TO_REGIONS, key) ? (COUNTRY_CODE_TO_REGIONS[key] as readonly string[])[0] as string : 'ZZ'
}

/** _normalize: keypad letters when there are 3+ ASCII letters, else digits of any script. */
function normalise (s: string): string {
  if (ALPHA_PHONE.test(s)) throw new PhoneParseError('VANITY')
  return digitsOnly(s)
}

function digitsOnly (s: string): string {
  let out = ''
  for (const ch of s) out += DIGIT.get(ch.codePointAt(0) as number) ?? ''
  return out
}

/** The keypad reading _normalize gives a vanity number (refused by msisdn.ts, see there). */
export function vanityDigits (s: string): string {
  let out = ''
  for (const ch of s) out += KEY.get(ch.codePointAt(0) as number) ?? ''
  return out
}

function extractPossibleNumber (s: string): string {
  const start = VALID_START.exec(s)
  if (start === null) return ''
  let n = s.slice(start.index)
  const end = UNWANTED_END.exec(n)
  if (end !== null) n = n.slice(0, end.index)
  const second = SECOND_NUMBER.exec(n)
  if (second !== null) n = n.slice(0, second.index)
  return n
}

function buildNationalNumberForParsing (s: string): string {
  let n: string
  const context = s.indexOf(';phone-context=')
  if (context >= 0) {
    const contextStart = context + ';phone-context='.length
    n = ''
    if (contextStart < s.length - 1 && s[contextStart] === '+') {
      const contextEnd = s.indexOf(';', contextStart)
      n = contextEnd > 0 ? s.slice(contextStart, contextEnd) : s.slice(contextStart)
    }
    const tel = s.indexOf('tel:')
    n += sliceLikePython(s, tel >= 0 ? tel + 'tel:'.length : 0, context)
  } else {
    n = extractPossibleNumber(s)
  }
  const isub = n.indexOf(';isub=')
  if (isub > 0) n = n.slice(0, isub)
  return n
}

// Python's s[a:b] is empty when b < a; JS slice agrees, but keep the reason visible
function sliceLikePython (s: string, a: number, b: number): string {
  return b <= a ? '' : s.slice(a, b)
}

function isViable (s: string): boolean {
  return pyLen(s) >= MIN_NSN && VIABLE.test(s)
}

function stripExtension (s: string): string {
  const m = EXTN.exec(s)
  return m !== null && isViable(s.slice(0, m.index)) ? s.slice(0, m.index) : s
}

function matchesNsn (n: string, plan: Plan): boolean {
  return plan.nsn.test(n)
}

type Length = 'POSSIBLE' | 'LOCAL_ONLY' | 'TOO_SHORT' | 'TOO_LONG' | 'INVALID_LENGTH'

function testLength (n: string, plan: Plan): Length {
  const actual = n.length
  if (plan.local.includes(actual)) return 'LOCAL_ONLY'
  const min = plan.len[0] as number
  if (min === actual) return 'POSSIBLE'
  if (min > actual) return 'TOO_SHORT'
  if ((plan.len[plan.len.length - 1] as number) < actual) return 'TOO_LONG'
  return plan.len.slice(1).includes(actual) ? 'POSSIBLE' : 'INVALID_LENGTH'
}

/** _maybe_strip_national_prefix_carrier_code, returning only the number. */
function stripNationalPrefix (n: string, plan: Plan): string {
  if (n.length === 0 || plan.npp === null) return n
  const m = plan.npp.exec(n)
  if (m === null) return n
  const viableOriginal = matchesNsn(n, plan)
  if (plan.npt === null || m[plan.nppGroups] === undefined) {
    const rest = n.slice(m[0].length)
    return viableOriginal && !matchesNsn(rest, plan) ? n : rest
  }
  const [literal, group] = plan.npt
  const transformed = literal + (m[group] ?? '') + n.slice(m[0].length)
  return viableOriginal && !matchesNsn(transformed, plan) ? n : transformed
}

function extractCallingCode (n: string): [number, string] {
  if (n.length === 0 || n[0] === '0') return [0, n]
  for (let i = 1; i <= Math.min(n.length, MAX_CC); i++) {
    const cc = Number(n.slice(0, i))
    if (Object.hasOwn(COUNTRY_CODE_TO_REGIONS, String(cc))) return [cc, n.slice(i)]
  }
  return [0, n]
}

/** _maybe_strip_i18n_prefix_and_normalize */
function stripI18nPrefix (s: string, idd: RegExp | null): ['plus' | 'idd' | 'default', string] {
  if (s.length === 0) return ['default', s]
  const plus = PLUS_START.exec(s)
  if (plus !== null) return ['plus', normalise(s.slice(plus[0].length))]
  const n = normalise(s)
  const m = idd?.exec(n) ?? null
  if (m !== null) {
    const after = n.slice(m[0].length)
    const digit = CAPTURING_DIGIT.exec(after)
    if (digit === null || digitsOnly(digit[1] as string) !== '0') return ['idd', after]
  }
  return ['default', n]
}

/** _maybe_extract_country_code: [calling code or 0, national number] */
function extractCountryCode (s: string, plan: Plan | null): [number, string] {
  if (s.length === 0) return [0, '']
  const [source, full] = stripI18nPrefix(s, plan?.idd ?? null)
  if (source !== 'default') {
    if (full.length <= MIN_NSN) throw new PhoneParseError('TOO_SHORT_AFTER_IDD')
    const [cc, rest] = extractCallingCode(full)
    if (cc !== 0) return [cc, rest]
    throw new PhoneParseError('INVALID_COUNTRY_CODE')
  }
  if (plan !== null) {
    const ccText = String(plan.cc)
    if (full.startsWith(ccText)) {
      const national = stripNationalPrefix(full.slice(ccText.length), plan)
      if ((!matchesNsn(full, plan) && matchesNsn(national, plan)) || testLength(full, plan) === 'TOO_LONG') return [plan.cc, national]
    }
  }
  return [0, '']
}

/**
 * phonenumbers.parse(number, region) formatted E.164 without "+", or a PhoneParseError where
 * Python raises NumberParseException. region is the country as Synapse passes it (null for
 * Python's None); non-ASCII regions are the caller's to refuse (Python upper-cases them).
 */
export function phonenumbersParse (number: string, region: string | null): Parsed {
  if (pyLen(number) > MAX_INPUT_LENGTH) throw new PhoneParseError('TOO_LONG')
  let national = buildNationalNumberForParsing(number)
  if (!isViable(national)) throw new PhoneParseError('NOT_A_NUMBER')
  if ((region === null || !SUPPORTED.has(region)) && !PLUS_START.test(national)) throw new PhoneParseError('INVALID_COUNTRY_CODE')
  national = stripExtension(national)
  let plan = region === null ? null : planForRegion(region.toUpperCase())

  let cc: number
  let nsn: string
  try {
    [cc, nsn] = extractCountryCode(national, plan)
  } catch (err) {
    const plus = PLUS_START.exec(national)
    if (!(err instanceof PhoneParseError) || err.kind !== 'INVALID_COUNTRY_CODE' || plus === null) throw err
    ;[cc, nsn] = extractCountryCode(national.slice(plus[0].length), plan)
    if (cc === 0) throw new PhoneParseError('INVALID_COUNTRY_CODE')
  }

  if (cc !== 0) {
    const numberRegion = regionForCallingCode(cc)
    if (numberRegion !== region) plan = planForCallingCode(cc, numberRegion)
    if (plan === null) throw new PhoneParseError('UNCOVERED') // Python asserts it never is
  } else {
    nsn += normalise(national)
    // a valid region is the only way here (a number without "+" needs one), so plan is set
    if (plan === null) throw new PhoneParseError('UNCOVERED')
    cc = plan.cc
  }
  if (nsn.length < MIN_NSN) throw new PhoneParseError('TOO_SHORT_NSN')
  const stripped = stripNationalPrefix(nsn, plan)
  const length = testLength(stripped, plan)
  if (length !== 'TOO_SHORT' && length !== 'LOCAL_ONLY' && length !== 'INVALID_LENGTH') nsn = stripped
  if (nsn.length < MIN_NSN) throw new PhoneParseError('TOO_SHORT_NSN')
  if (nsn.length > MAX_NSN) throw new PhoneParseError('TOO_LONG')
  // national_significant_number() restores the leading zeros int() dropped: the digits as they are
  const plusMatch = PLUS_START.exec(national)
  const normalised = plusMatch === null ? digitsOnly(national) : '+' + digitsOnly(national.slice(plusMatch[0].length))
  return { msisdn: String(cc) + nsn, normalised }
}
