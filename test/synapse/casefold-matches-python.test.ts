import fc from 'fast-check'
import t from 'tap'
import { python } from '../helpers/python.js'
import { UNICODE_VERSION } from '../../src/synapse/casefold-table.js'
import { casefold } from '../../src/synapse/casefold.js'

// Synapse stores the email local part as Python's str.casefold(); regguard must fold the same
// way or a blacklist decision and the address Synapse stores disagree. Python is the oracle:
// every input goes to Debian's /usr/bin/python3 in one batch, JSON in and JSON out.

const CASEFOLD = 'import json,sys; json.dump([s.casefold() for s in json.load(sys.stdin)], sys.stdout)'
const codePoints = (s: string): string => [...s].map((c) => 'U+' + (c.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')).join(' ')

t.test('the table was generated from the Unicode version of /usr/bin/python3', async (t) => {
  const v = python<string>('import json,unicodedata; json.dump(unicodedata.unidata_version, __import__("sys").stdout)', null)
  t.equal(UNICODE_VERSION, v, '/usr/bin/python3 has another Unicode version: run /usr/bin/python3 scripts/gen-casefold.py (Synapse\'s Python is the one that matters)')
})

t.test('every code point folds as Python folds it', async (t) => {
  const all: string[] = []
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue
    all.push(String.fromCodePoint(cp))
  }
  // one string per code point would be 1.1M JSON strings; a few long strings carry the same
  // information because Python's casefold has no context
  const chunks: string[] = []
  for (let i = 0; i < all.length; i += 4096) chunks.push(all.slice(i, i + 4096).join(''))
  const folded = python<string[]>(CASEFOLD, chunks)
  let mismatches = 0
  chunks.forEach((chunk, i) => {
    if (casefold(chunk) === folded[i]) return
    for (const ch of chunk) {
      const py = python<string[]>(CASEFOLD, [ch])[0]
      if (casefold(ch) !== py && mismatches++ < 10) t.fail(`${codePoints(ch)}: regguard ${codePoints(casefold(ch))}, Python ${codePoints(py as string)}`)
    }
  })
  t.equal(mismatches, 0, 'no code point folds differently')
})

t.test('property: random Unicode strings fold as Python folds them', async (t) => {
  const arb = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    // letters with special foldings, mixed with ASCII so the fast path and the table both run
    fc.string({ unit: fc.constantFrom('ß', 'ẞ', 'ς', 'Σ', 'İ', 'ı', 'ﬃ', 'ŉ', 'ǰ', 'Å', 'K', 'ͅ', 'ᾼ', 'Ꭰ', 'ꭰ', '𐐀', 'A', 'z', '@', '.'), maxLength: 30 }),
    fc.string({ unit: 'binary-ascii', maxLength: 40 })
  )
  const inputs = fc.sample(arb, { numRuns: 3000, seed: 20240602 })
  const py = python<string[]>(CASEFOLD, inputs)
  const bad = inputs.filter((s, i) => casefold(s) !== py[i])
  t.same(bad.slice(0, 5).map(codePoints), [], 'strings that fold differently')
  t.equal(py.length, inputs.length)
})

t.test('known differences from toLowerCase are folded the Python way', async (t) => {
  t.equal(casefold('Straße'), 'strasse')
  t.equal(casefold('ΣΊΣΥΦΟΣ'), 'σίσυφοσ', 'no final sigma: casefold has no context')
  t.equal(casefold('ﬃ'), 'ffi')
  t.equal(casefold('ABC'), 'abc')
})
