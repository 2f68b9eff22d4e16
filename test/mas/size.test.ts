import t from 'tap'
import { domainRegexes, MAX_ALTERNATION_CHARS } from '../../src/mas/domain-regexes.js'
import { emailAllowed } from '../helpers/mas-policy.js'

// A list the size of disposable-email-domains (8,335 entries on 2026-08-21) as MAS data: a few
// bounded alternations (docs/mas.md, "Size, and why batches"), the same for the same entries in
// any order, and every entry still denied in every case spelling.

const ENTRIES = 8335

function syntheticList (n: number): string[] {
  let seed = 42
  const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return seed / 0x7fffffff }
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789-'
  const tlds = ['com', 'net', 'org', 'xyz', 'info', 'de', 'ru', 'io', 'co.uk', 'top']
  const out = new Set<string>()
  while (out.size < n) {
    let s = 'abcdefghijklmnopqrstuvwxyz'[Math.floor(rnd() * 26)] as string
    for (let i = 0, len = 3 + Math.floor(rnd() * 12); i < len; i++) s += chars[Math.floor(rnd() * (chars.length - 1))]
    out.add(`${s}.${tlds[Math.floor(rnd() * tlds.length)] as string}`)
  }
  return [...out]
}

t.test('the disposable list\'s size: a few bounded regexes, one document of about 140 KB', async (t) => {
  const list = syntheticList(ENTRIES)
  // as the list's lines are: each a domain and (for the consumer) its subdomains
  const { regexes, domains } = domainRegexes(list.map((d) => `*${d}`))
  t.equal(domains, ENTRIES)
  const bytes = Buffer.byteLength(JSON.stringify({ data: { emails: { banned_addresses: { regexes } } } }))
  t.comment(`${ENTRIES} entries: ${regexes.length} regexes, ${bytes} bytes`)
  t.ok(regexes.length <= 12, `${regexes.length} regexes`)
  t.ok(regexes.every((r) => r.length <= MAX_ALTERNATION_CHARS + 40), 'each regex within its bound')
  t.ok(bytes < 200_000, `${bytes} bytes`)
  const shuffled = [...list].reverse().map((d) => `*${d}`)
  t.same(domainRegexes(shuffled).regexes, regexes, 'the same entries in another order: the same regexes (and hash)')

  const data = { emails: { banned_addresses: { regexes } } }
  for (const d of list.filter((_, i) => i % 97 === 0)) {
    for (const typed of [`x@${d}`, `x@${d.toUpperCase()}`, `x@sub.${d}`, `X@SUB.${d.toUpperCase()}.`]) t.notOk(emailAllowed(data, typed), typed)
  }
  for (const ok of ['x@gmail.com', 'x@example.org', `x@not${list[0] as string}`]) t.ok(emailAllowed(data, ok), ok)
})
