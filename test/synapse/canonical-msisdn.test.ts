import fc from 'fast-check'
import t from 'tap'
import { canonicalMsisdn, canonicalMsisdnNumber } from '../../src/synapse/canonical.js'

// Synapse's phone_number_to_msisdn: phonenumbers.parse(number, country) formatted E.164 without
// "+". Expected values below were produced by Python phonenumbers 8.12 (Debian's package).

const SAME_AS_PYTHON: Array<[string, string, string]> = [
  ['GB', '07700 900123', '447700900123'],
  ['GB', '7700900123', '447700900123'],
  ['GB', '07700-900-123', '447700900123'],
  ['GB', '+44 (0) 7700 900123', '447700900123'],
  ['GB', '  07700 900123  ', '447700900123'],
  ['GB', '00447700900123', '447700900123'],
  ['GB', '0７７００９００１２３', '447700900123'],
  ['GB', '٠٧٧٠٠٩٠٠١٢٣', '447700900123'],
  ['GB', '07700 900123 ext. 5', '447700900123'],
  ['GB', 'tel:+447700900123', '447700900123'],
  ['US', '(202) 555-0123', '12025550123'],
  ['US', '+44 7700 900123', '447700900123'],
  ['US', '011 44 7700 900123', '447700900123'],
  ['DE', '030 123456', '4930123456'],
  ['FR', '06 12 34 56 78', '33612345678'],
  ['XK', '043 201 234', '38343201234'],
  ['', '+447700900123', '447700900123']
]

t.test('(country, phone_number) -> E.164 without "+", as Python phonenumbers', async (t) => {
  for (const [country, number, expected] of SAME_AS_PYTHON) {
    t.same(canonicalMsisdn(country, number), { ok: true, address: expected }, `${country} ${number}`)
  }
})

t.test('numbers Python refuses are refused', async (t) => {
  const bad: Array<[unknown, unknown]> = [
    ['GB', 'abc'], ['GB', ''], ['GB', '1'], ['GB', '0'], ['GB', '+44'], ['GB', '+12'], ['GB', '*123#'],
    ['GB', '11111111111111111111'], ['GB', '+999 123456'],
    ['ZZ', '07700 900123'], ['', '07700 900123'],
    // Python's phonenumbers has no region "gb": Synapse answers 400 to a lower-case country
    ['gb', '07700 900123'],
    [null, '07700 900123'], ['GB', 7700900123], ['GB', null], [undefined, undefined]
  ]
  for (const [country, number] of bad) t.equal(canonicalMsisdn(country, number).ok, false, JSON.stringify([country, number]))
})

t.test('regression: a vanity number was judged as its digits before the first letter', async (t) => {
  // Python reads "1-800-FLOWERS" as 18003569377, libphonenumber-js as 11800: a blacklist on
  // 1900... would miss "+1 900 CALLME". regguard refuses what it cannot read as Synapse does.
  for (const n of ['1-800-FLOWERS', '+1 900 CALLME', '1-800-FLOWERS ext 5', '202 555 0123 abc']) {
    t.equal(canonicalMsisdn('US', n).ok, false, n)
  }
  // letters only as an extension marker, or before the number, are read alike by both
  t.same(canonicalMsisdn('GB', '07700 900123 extension: 5'), { ok: true, address: '447700900123' })
  t.same(canonicalMsisdn('US', 'tel:+1-202-555-0123'), { ok: true, address: '12025550123' })
})

t.test('property: spacing and punctuation do not change the number', async (t) => {
  const sep = fc.constantFrom('', ' ', '-', '.', '  ')
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 6, maxLength: 6 }), sep, sep, (digits, a, b) => {
    const tail = digits.join('')
    const spaced = canonicalMsisdn('GB', `07700${a}${tail.slice(0, 3)}${b}${tail.slice(3)}`)
    return spaced.ok && spaced.address === `447700${tail}`
  }), { numRuns: 300, seed: 5 })
  t.pass('300 spellings of GB mobile numbers')
})

t.test('a whole number, as the CLI takes it: with or without "+"', async (t) => {
  t.same(canonicalMsisdnNumber('447700900123'), { ok: true, address: '447700900123' })
  t.same(canonicalMsisdnNumber('+44 7700 900123'), { ok: true, address: '447700900123' })
  t.same(canonicalMsisdnNumber(' 12025550123\n'), { ok: true, address: '12025550123' })
  t.equal(canonicalMsisdnNumber('12').ok, false)
  t.equal(canonicalMsisdnNumber('not a number').ok, false)
  t.equal(canonicalMsisdnNumber(447700900123).ok, false)
})
