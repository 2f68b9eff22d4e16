import { CASEFOLD_PAIRS } from './casefold-table.js'

// Python's str.casefold(), from a table generated out of Python itself: JavaScript's
// toLowerCase() differs (ß stays ß, final sigma stays ς), and Synapse stores casefold().
const FOLDS = new Map<number, string>()
for (const [cp, ...folded] of CASEFOLD_PAIRS) FOLDS.set(cp as number, String.fromCodePoint(...folded))

export function casefold (s: string): string {
  let ascii = true
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) { ascii = false; break }
  }
  if (ascii) return s.toLowerCase()
  let out = ''
  for (const ch of s) {
    const f = FOLDS.get(ch.codePointAt(0) as number)
    out += f ?? ch
  }
  return out
}

// Python's str.strip() with no argument removes what str.isspace() calls whitespace, which
// differs from String.prototype.trim() (Python strips U+001C..U+001F and U+0085, not U+FEFF).
const PY_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000
])

export function pyStrip (s: string): string {
  let start = 0
  let end = s.length
  while (start < end && PY_SPACE.has(s.charCodeAt(start))) start++
  while (end > start && PY_SPACE.has(s.charCodeAt(end - 1))) end--
  return s.slice(start, end)
}

const HIGH_SURROGATE = /[\ud800-\udbff]/

/** Python's len(): code points, not UTF-16 units. */
export function pyLen (s: string): number {
  // without a high surrogate every UTF-16 unit is a code point (a lone low one counts as one)
  if (!HIGH_SURROGATE.test(s)) return s.length
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) n++
    else { const d = s.charCodeAt(i + 1); if (d >= 0xdc00 && d <= 0xdfff) { n++; i++ } else n++ }
  }
  return n
}
