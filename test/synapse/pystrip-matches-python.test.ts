import fc from 'fast-check'
import t from 'tap'
import { python } from '../helpers/python.js'
import { pyLen, pyStrip } from '../../src/synapse/casefold.js'

// Synapse strip()s the email before splitting it; String.prototype.trim() removes another set
// of characters (U+FEFF but not U+001C..U+001F or U+0085), so pyStrip is checked against Python.

const hex = (s: string): string => [...s].map((c) => (c.codePointAt(0) as number).toString(16)).join(' ')

t.test('every code point is stripped exactly when Python strips it', async (t) => {
  const all: string[] = []
  for (let cp = 0; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) all.push(String.fromCodePoint(cp))
  // one JSON string in, one flag per code point out: a million-element JSON array is slow
  const flags = python<string>('import json,sys; json.dump("".join("1" if c.strip() == "" else "0" for c in json.load(sys.stdin)), sys.stdout)', all.join(''))
  t.equal(flags.length, all.length)
  const bad = all.filter((c, i) => (pyStrip(c) === '') !== (flags[i] === '1'))
  t.same(bad.map(hex), [], 'code points where regguard and Python disagree')
})

t.test('property: random strings heavy in whitespace strip as in Python', async (t) => {
  const space = fc.constantFrom('\t', '\n', '\v', '\f', '\r', '\x1c', '\x1d', '\x1e', '\x1f', ' ', '\x85', '\xa0',
    '\u1680', '\u2000', '\u200a', '\u200b', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u180e')
  const arb = fc.array(fc.oneof(space, fc.string({ unit: 'binary', minLength: 1, maxLength: 3 })), { maxLength: 12 }).map((a) => a.join(''))
  const inputs = fc.sample(arb, { numRuns: 3000, seed: 7 })
  const py = python<string[]>('import json,sys; json.dump([s.strip() for s in json.load(sys.stdin)], sys.stdout)', inputs)
  const bad = inputs.filter((s, i) => pyStrip(s) !== py[i])
  t.same(bad.slice(0, 5).map(hex), [], 'strings stripped differently')
})

t.test('pyLen counts code points like Python len()', async (t) => {
  const inputs = fc.sample(fc.string({ unit: 'binary', maxLength: 30 }), { numRuns: 500, seed: 3 })
  const py = python<number[]>('import json,sys; json.dump([len(s) for s in json.load(sys.stdin)], sys.stdout)', inputs)
  t.same(inputs.map(pyLen), py)
})
