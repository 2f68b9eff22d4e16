import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getCountryCallingCode, type CountryCode } from 'libphonenumber-js'
import examples from 'libphonenumber-js/mobile/examples'
import t from 'tap'
import { PYTHON, python } from '../helpers/python.js'
import { canonicalMsisdn, canonicalMsisdnNumber } from '../../src/synapse/canonical.js'
import { PHONENUMBERS_VERSION, UNICODE_VERSION } from '../../src/synapse/phonenumbers-data.js'

// Synapse (and the identity server that sends the SMS) reads (country, phone_number) with
// Python phonenumbers: parse(number, country), E.164 without "+". Debian's python3-phonenumbers
// is the oracle: >= 100,000 seeded inputs over many regions, digit scripts, prefixes, separators,
// extensions and junk go to it in one batch; regguard must read every one the same, or refuse it.

const ORACLE = `
import json, sys, phonenumbers
out = []
for country, number in json.load(sys.stdin):
    try:
        out.append(phonenumbers.format_number(phonenumbers.parse(number, country), phonenumbers.PhoneNumberFormat.E164)[1:])
    except phonenumbers.NumberParseException:
        out.append(None)
    except Exception as e:  # Synapse answers 500: nothing is sent either
        out.append(None)
json.dump(out, sys.stdout)
`

const codePoints = (s: string): string => [...s].map((c) => {
  const cp = c.codePointAt(0) as number
  return cp >= 0x21 && cp <= 0x7e ? c : 'U+' + cp.toString(16).toUpperCase().padStart(4, '0')
}).join(' ')

// mulberry32: a deterministic stream, so a failure is reproduced by the same run
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const REGIONS = ['GB', 'US', 'FR', 'DE', 'IN', 'TH', 'BD', 'MN', 'CN', 'JP', 'BR', 'RU', 'EG', 'SA', 'IR', 'AR', 'MX', 'IT',
  'KR', 'ID', 'PK', 'NG', 'KE', 'AU', 'NZ', 'ZA', 'TR', 'UA', 'PL', 'ES', 'NL', 'CH', 'SE', 'CA', 'XK', 'MM', 'BT', 'NP',
  'AF', 'KZ', 'BY', 'HK', 'SG', 'IL', 'AE', 'LK', 'VN', 'KH', 'LA', 'CO', 'PE', 'CL', 'VE', 'PR', 'JM', 'GG', 'IM', 'SM', 'VA']
const ODD_REGIONS = ['', 'gb', 'us', 'in', 'ZZ', 'XX', '001', 'G', 'GBR', 'Gb', ' GB', 'UK', 'EU', 'AC', 'TA', 'XT']

// zero of each script: ASCII, fullwidth, Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali,
// Thai, Lao, Mongolian, Myanmar, Tibetan, Khmer, NKo, math bold / double-struck / monospace,
// Adlam; then digits Python 3.11's Unicode 14 does not know (Kawi, Nag Mundari: Unicode 15)
const SCRIPTS = [0x30, 0xff10, 0x660, 0x6f0, 0x966, 0x9e6, 0xe50, 0xed0, 0x1810, 0x1040, 0xf20, 0x17e0, 0x7c0,
  0x1d7ce, 0x1d7d8, 0x1d7f6, 0x1e950, 0x11f50, 0x1e4f0]
const ORDINARY_SCRIPTS = [0x30, 0xff10, 0x966]
// digits that are not decimal digits (unicodedata.digit knows them, re's \d does not)
const NOT_DECIMAL = ['²', '³', '¹', '①', '⑨', '⁰', '₅', '❶']

const SEPARATORS = ['', '', '', ' ', ' ', '-', '.', '/', '\u00a0', '\u2010', '\u2212', '\uff0d', '\u3000', '\u200b', '\u2060',
  '\u00ad', '~', '\u30fc', '  ', ' - ', '\t', '\n', '_', ',', '*', '#', '\u2028', '\u202f', '\u2009', '\ufeff']
const PLUSES = ['+', '+', '+', '\uff0b', '++', '+ ', '+\uff0b', '\u207a', '\ufe62']
const IDDS = ['00', '011', '810', '8~10', '8\u223c10', '0011', '001', '009', '00 ', '0 0', '000', '119', '0015', '010', '002', '99']
const NATIONAL_PREFIXES = ['', '', '0', '0', '8', '1', '9', '00', '01', '0 ', '(0)', '15', '044', '045']
const EXTENSIONS = [' ext. 5', ' x12', ';ext=12', ' #12', ',,12', ',3', ' \u0434\u043e\u0431 12', ' \uff45\uff58\uff54 1', ' anexo 3', ' - 503#',
  ' int 4', ' EXT 7', ' e\u212at 7', ' extensi\u00f3n 9', ' extensio\u0301n 9', ' xtn 5', ' \u00d7 5', ' extn: 1234', ';2', ' # 5', ' x 12345678901']
const LEADING = ['tel:', 'Tel: ', 'phone ', '(', 'x', '\u2060', '\u96fb\u8a71', 'abc', '-', '[', '\ufeff', 'call me on ', '*', '#', '.', '_']
const TRAILING = ['.', ' ', '!', '\n', 'abc', '_', '\u00e9', ')', ']', '#', '/x2303', '\\x12', ' or 07700 900124', ';isub=12', ';phone-context=+44', 'xyz', '\u0301', '\u212a']
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\u212a\u017f\u0130\u0131'

interface Case { country: string | null, number: string, kind: string, ordinary: boolean, whole?: boolean }

const EXAMPLE_REGIONS = Object.keys(examples) as CountryCode[]

function generate (count: number, seed: number): Case[] {
  const r = rng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T
  const chance = (p: number): boolean => r() < p
  const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(r() * 10))).join('')
  const script = (s: string, zero: number | 'mixed'): string => [...s].map((c) => {
    if (c < '0' || c > '9') return c
    const z = zero === 'mixed' ? pick(SCRIPTS) : zero
    return String.fromCodePoint(z + Number(c))
  }).join('')
  const group = (s: string): string => {
    let out = ''
    let i = 0
    const sep = pick(SEPARATORS)
    while (i < s.length) {
      const n = 1 + Math.floor(r() * 4)
      out += (i === 0 ? '' : (chance(0.8) ? sep : pick(SEPARATORS))) + s.slice(i, i + n)
      i += n
    }
    return out
  }
  const cases: Case[] = []
  while (cases.length < count) {
    const region = pick(EXAMPLE_REGIONS)
    const nsnExample = (examples as Record<string, string>)[region] as string
    // a real number of that region, its last digits changed now and then
    const nsn = chance(0.5) ? nsnExample : nsnExample.slice(0, Math.max(2, nsnExample.length - 1 - Math.floor(r() * 4))) + digits(Math.floor(r() * 5))
    const cc = getCountryCallingCode(region)
    const ordinaryScript = chance(0.5)
    const zero = ordinaryScript ? pick(ORDINARY_SCRIPTS) : (chance(0.15) ? 'mixed' : pick(SCRIPTS))
    let country: string | null = chance(0.5) ? region : (chance(0.85) ? pick(REGIONS) : pick(ODD_REGIONS))
    if (chance(0.01)) country = null
    const form = Math.floor(r() * 7)
    // the prefix (national prefix, "+" and country code, IDD) and the rest, each written apart
    let head: string
    let rest: string
    let kind: string
    switch (form) {
      case 0: kind = 'national'; head = pick(NATIONAL_PREFIXES); rest = group(nsn); break
      case 1: kind = 'plus'; head = pick(PLUSES) + cc; rest = group(nsn); break
      case 2: kind = 'idd'; head = pick(IDDS) + (chance(0.5) ? ' ' : ''); rest = group(cc + nsn); break
      case 3: kind = 'cc without plus'; head = cc + pick(NATIONAL_PREFIXES); rest = group(nsn); break
      case 4: kind = 'random digits'; head = ''; rest = group(digits(1 + Math.floor(r() * 20))); break
      case 5: kind = 'national as given'; country = region; head = '0'; rest = group(nsn); break
      default: kind = 'plus, own region'; country = region; head = '+' + cc; rest = group(nsn)
    }
    const sep = head === '' || chance(0.5) ? '' : pick(SEPARATORS)
    const body = head + sep + rest
    // how the scripts mix: one for all, one for the prefix and another for the rest (the
    // issue's "००1 202 555 0100"), a few digits of another script at the end, or any per digit
    const mode = chance(ordinaryScript ? 0.8 : 0.3) ? 'one' : pick(['split', 'split', 'tail', 'per digit'])
    let number: string
    if (mode === 'one' || zero === 'mixed') number = script(body, mode === 'per digit' ? 'mixed' : zero)
    else if (mode === 'split') number = script(head, pick(SCRIPTS)) + sep + script(rest, zero)
    else if (mode === 'tail') { const k = 1 + Math.floor(r() * 3); number = script(body.slice(0, -k), zero) + script(body.slice(-k), pick(SCRIPTS)) } else number = script(body, 'mixed')
    // simple spellings in ASCII, fullwidth or Devanagari digits: these must be read, not refused
    let ordinary = ordinaryScript && mode === 'one' && form !== 4 && /^[\d\s\-+.()/]*$/.test(body) && country !== null && /^[A-Z]{2}$/.test(country)
    const extra = (): void => { ordinary = false }
    if (chance(0.08)) { number = pick(EXTENSIONS) === ';ext=12' ? number + ';ext=12' : number + script(pick(EXTENSIONS), zero === 'mixed' ? 0x30 : zero); extra() }
    if (chance(0.06)) { number = pick(LEADING) + number; extra() }
    if (chance(0.06)) { number = number + pick(TRAILING); extra() }
    if (chance(0.05)) {
      // vanity letters in place of some digits, or a word inside
      const chars = [...number]
      for (let k = 0; k < 1 + Math.floor(r() * 6); k++) chars[Math.floor(r() * chars.length)] = pick([...LETTERS])
      number = chars.join('')
      extra()
    }
    if (chance(0.02)) { const chars = [...number]; chars.splice(Math.floor(r() * chars.length), 0, pick(NOT_DECIMAL)); number = chars.join(''); extra() }
    if (chance(0.01)) { number = 'tel:' + number.replace(/^\+/, '') + ';phone-context=' + pick(['+44', '+1', '+91', 'example.com', '+', '']); extra() }
    if (chance(0.003)) { number = number.repeat(30); extra() }
    if (chance(0.003)) { number = String.fromCharCode(0xd800) + number; extra() }
    cases.push({ country, number, kind, ordinary })
  }
  // whole numbers as the CLI, the admin API and learned invites give them
  for (let i = 0; i < count / 20; i++) {
    const region = pick(EXAMPLE_REGIONS)
    const n = getCountryCallingCode(region) + (examples as Record<string, string>)[region]
    const number = pick(['', '+', ' +', '+ ']) + (chance(0.3) ? group(n) : n) + pick(['', ' ', '\n'])
    cases.push({ country: null, number, kind: 'whole', ordinary: false, whole: true })
  }
  return cases
}

t.test('the tables were generated from the oracle\'s phonenumbers and Unicode', async (t) => {
  const v = python<[string, string]>('import json,sys,unicodedata,phonenumbers; json.dump([phonenumbers.__version__, unicodedata.unidata_version], sys.stdout)', null)
  t.same(v, [PHONENUMBERS_VERSION, UNICODE_VERSION], 'run /usr/bin/python3 scripts/gen-phonenumbers.py')
})

t.test('src/synapse/phonenumbers-data.ts is what the generator writes from this Python', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'regguard-phonenumbers-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'data.ts')
  const r = spawnSync(PYTHON, ['scripts/gen-phonenumbers.py', out], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  t.ok(readFileSync(out, 'utf8') === readFileSync('src/synapse/phonenumbers-data.ts', 'utf8'), 'regenerate with /usr/bin/python3 scripts/gen-phonenumbers.py')
})

t.test('regguard reads every generated number as phonenumbers does, or refuses it', async (t) => {
  const cases = generate(110_000, 20240817)
  const oracle = python<Array<string | null>>(ORACLE, cases.map((c) => {
    if (c.whole !== true) return [c.country, c.number]
    // canonicalMsisdnNumber: the number with a "+" in front when it has none
    const s = c.number.trim()
    return [null, s.startsWith('+') ? s : '+' + s]
  }))
  t.equal(oracle.length, cases.length)

  let wrong = 0
  let refused = 0
  let pythonRead = 0
  let ordinaryRead = 0
  let ordinaryRefused = 0
  const refusedByKind = new Map<string, [number, number]>()
  cases.forEach((c, i) => {
    const mine = c.whole === true ? canonicalMsisdnNumber(c.number) : canonicalMsisdn(c.country, c.number)
    const py = oracle[i] ?? null
    if (py !== null) pythonRead++
    const counts = refusedByKind.get(c.kind) ?? [0, 0]
    refusedByKind.set(c.kind, counts)
    if (py !== null) counts[1]++
    if (!mine.ok) {
      if (py !== null) { refused++; counts[0]++ }
      if (c.ordinary && py !== null && ordinaryRefused++ < 5) t.comment(`  refused, ordinary: ${JSON.stringify(c.country)} ${JSON.stringify(c.number)} (phonenumbers ${py}): ${mine.reason}`)
      return
    }
    if (c.ordinary) ordinaryRead++
    if (mine.address !== py) {
      if (wrong++ < 25) {
        t.fail(`country ${JSON.stringify(c.country)} number ${JSON.stringify(c.number)} [${codePoints(c.number)}]: regguard ${mine.address}, phonenumbers ${String(py)}`)
      }
    }
  })
  t.equal(wrong, 0, `${wrong} of ${cases.length} inputs read differently from phonenumbers`)
  t.ok(cases.length >= 100_000, `${cases.length} inputs`)
  const rate = refused / pythonRead
  t.comment(`phonenumbers read ${pythonRead} of ${cases.length}; regguard refused ${refused} of those (${(100 * rate).toFixed(2)}%)`)
  for (const [kind, [n, of]] of refusedByKind) t.comment(`  ${kind}: refused ${n} of ${of} phonenumbers reads (${(100 * n / Math.max(1, of)).toFixed(2)}%)`)
  t.comment(`ordinary spellings (ASCII, fullwidth, Devanagari; simple punctuation): read ${ordinaryRead}, refused ${ordinaryRefused}`)
  t.ok(rate < 0.1, `refusal rate ${(100 * rate).toFixed(2)}% of what phonenumbers reads stays below 10%`)
  t.ok(ordinaryRead > 3_000, 'many ordinary spellings were generated and read')
  t.ok(ordinaryRefused / (ordinaryRead + ordinaryRefused) < 0.05, `ordinary spellings refused: ${ordinaryRefused} (below 5%)`)
})

t.test('the case from the issue, and each script read as its digits', async (t) => {
  t.same(canonicalMsisdn('GB', '\u0966\u09661 202 555 0100'), { ok: true, address: '12025550100' }, 'DEVANAGARI 00 is the UK IDD prefix')
  const cases: Array<[string, string]> = []
  for (const zero of SCRIPTS) cases.push(['GB', String.fromCodePoint(...[...'07700900123'].map((d) => zero + Number(d)))])
  const oracle = python<Array<string | null>>(ORACLE, cases)
  cases.forEach(([country, number], i) => {
    const mine = canonicalMsisdn(country, number)
    const py = oracle[i] ?? null
    if (py === null) t.equal(mine.ok, false, `${codePoints(number)}: phonenumbers refuses, so does regguard`)
    else t.same(mine, { ok: true, address: py }, `${codePoints(number)}: read as ${py}`)
  })
})
