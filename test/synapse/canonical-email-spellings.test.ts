import { domainToASCII } from 'node:url'
import fc from 'fast-check'
import t from 'tap'
import { canonicalDomain, canonicalEmail } from '../../src/synapse/canonical.js'
import { decide, emptySide, type Policy } from '../../src/policy/policy.js'

// Every spelling of a domain must meet the rule written for it, however the rule itself is
// spelled: case, fullwidth forms, ideographic and fullwidth dots, a trailing dot, Unicode or
// xn-- punycode labels.

const ASCII_LABELS = ['evil', 'example', 'mail', 'x1', 'a-b', 'disposable']
// IDN labels whose upper case maps back to the same letters (not ß or ς, which are other domains)
const IDN_LABELS = ['bücher', 'münchen', 'пример', '例え', 'ñandú', 'αβγ']

const label = fc.oneof(fc.constantFrom(...ASCII_LABELS), fc.constantFrom(...IDN_LABELS))
const domain = fc.tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom('org', 'de', 'example', 'рф')).map(([ls, tld]) => [...ls, tld])

const fullwidth = (c: string): string => /[a-z0-9-]/i.test(c) ? String.fromCodePoint((c.codePointAt(0) as number) + 0xfee0) : c

/** One random way of writing the labels: the generator decides per label and per character. */
const spelling = (labels: string[]): fc.Arbitrary<string> => fc.tuple(
  fc.array(fc.tuple(fc.constantFrom('plain', 'upper', 'fullwidth', 'punycode', 'PUNYCODE', 'mixed'), fc.array(fc.boolean(), { minLength: 20, maxLength: 20 })), { minLength: labels.length, maxLength: labels.length }),
  fc.array(fc.constantFrom('.', '．', '。', '｡'), { minLength: labels.length, maxLength: labels.length }),
  fc.boolean()
).map(([styles, dots, trailingDot]) => {
  const parts = labels.map((l, i) => {
    const [style, coin] = styles[i] as [string, boolean[]]
    const puny = domainToASCII(l)
    switch (style) {
      case 'upper': return l.toUpperCase()
      case 'fullwidth': return [...l].map(fullwidth).join('')
      case 'punycode': return puny
      case 'PUNYCODE': return puny.toUpperCase()
      case 'mixed': return [...l].map((c, j) => coin[j % coin.length] === true ? c.toUpperCase() : fullwidth(c)).join('')
      default: return l
    }
  })
  let out = parts[0] as string
  for (let i = 1; i < parts.length; i++) out += (dots[i] as string) + parts[i]
  return trailingDot ? out + '.' : out
})

const blacklisting = (entry: string): Policy => {
  const p: Policy = {
    allowed: true,
    invite: true,
    email: { whitelist: emptySide(), blacklist: emptySide() },
    msisdn: { whitelist: emptySide(), blacklist: emptySide() }
  }
  if (!p.email.blacklist.domains.add(entry)) throw new Error(`entry ${entry} refused`)
  return p
}

t.test('the issue\'s examples meet one rule', async (t) => {
  const p = blacklisting('evil.example')
  for (const email of ['user@evil.example', 'user@ＥＶＩＬ.example', 'user@Evil.Example.', 'user@ＥＶＩＬ．ｅｘａｍｐｌｅ', 'User@EVIL.EXAMPLE', ' user@evil.example\n']) {
    const c = canonicalEmail(email)
    t.same(c, { ok: true, address: 'user@evil.example' }, JSON.stringify(email))
    if (c.ok) t.equal(decide(p, 'email', c.address).rule, 'blacklist', `${JSON.stringify(email)} is denied`)
  }
  const idn = blacklisting('bücher.de')
  for (const email of ['a@bücher.de', 'a@xn--bcher-kva.de', 'a@BÜCHER.DE', 'a@XN--BCHER-KVA.DE.', 'a@ｂüｃｈｅｒ。de']) {
    const c = canonicalEmail(email)
    t.same(c, { ok: true, address: 'a@xn--bcher-kva.de' }, email)
    if (c.ok) t.equal(decide(idn, 'email', c.address).allowed, false, `${email} is denied`)
  }
  t.equal(decide(blacklisting('xn--bcher-kva.de'), 'email', 'a@xn--bcher-kva.de').allowed, false, 'a punycode entry catches the Unicode spelling')
})

t.test('property: any spelling of a blacklisted domain is denied by any spelling of the entry', async (t) => {
  fc.assert(fc.property(
    domain.chain((labels) => fc.tuple(fc.constant(labels), spelling(labels), spelling(labels), fc.constantFrom('', '*'))),
    fc.constantFrom('user', 'USER', 'Straße', 'ÅSA'),
    ([labels, emailSpelling, entrySpelling, star], local) => {
      const p = blacklisting(star + entrySpelling)
      const c = canonicalEmail(`${local}@${emailSpelling}`)
      if (!c.ok) return false
      const d = decide(p, 'email', c.address)
      return d.allowed === false && d.rule === 'blacklist' && c.address.endsWith('@' + domainToASCII(labels.join('.')))
    }
  ), { numRuns: 500, seed: 11 })
  t.pass('500 spellings denied')
})

t.test('property: subdomain spellings meet a *entry and a .entry, never the exact entry', async (t) => {
  fc.assert(fc.property(
    domain.chain((labels) => fc.tuple(fc.constant(labels), spelling(['sub', ...labels]), spelling(labels))),
    ([, subSpelling, entrySpelling]) => {
      const c = canonicalEmail(`u@${subSpelling}`)
      if (!c.ok) return false
      return decide(blacklisting('*' + entrySpelling), 'email', c.address).allowed === false &&
        decide(blacklisting('.' + entrySpelling), 'email', c.address).allowed === false &&
        decide(blacklisting(entrySpelling), 'email', c.address).allowed === true
    }
  ), { numRuns: 300, seed: 12 })
  t.pass('300 subdomain spellings')
})

t.test('property: canonicalEmail is idempotent', async (t) => {
  const local = fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((s) => !s.includes('@'))
  fc.assert(fc.property(
    local,
    domain.chain((labels) => spelling(labels)),
    (l, d) => {
      const once = canonicalEmail(`${l}@${d}`)
      if (!once.ok) return true // some random local parts are all whitespace: rejected, nothing to repeat
      const twice = canonicalEmail(once.address)
      return twice.ok && twice.address === once.address
    }
  ), { numRuns: 1000, seed: 13 })
  let accepted = 0
  const part = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'Z', '.', '-', 'ß', 'Ü', '．', ' ', 'xn--'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 15 })
  fc.assert(fc.property(part, part, (a, b) => {
    const once = canonicalEmail(`${a}@${b}`)
    if (!once.ok) return true
    accepted++
    const twice = canonicalEmail(once.address)
    return twice.ok && twice.address === once.address
  }), { numRuns: 2000, seed: 14 })
  t.ok(accepted > 100, `enough random addresses were accepted to mean something (${accepted})`)
  t.same(canonicalEmail('Straße@ＥＶＩＬ.example.'), canonicalEmail('strasse@evil.example'))
})

t.test('canonicalDomain: case, dots and IDN', async (t) => {
  t.equal(canonicalDomain('Example.ORG.'), 'example.org')
  t.equal(canonicalDomain('ｅｘａｍｐｌｅ．ｏｒｇ'), 'example.org')
  t.equal(canonicalDomain('bücher.de'), 'xn--bcher-kva.de')
  t.equal(canonicalDomain('example..org'), null)
  t.equal(canonicalDomain('.example.org'), null)
  t.equal(canonicalDomain(''), null)
  t.equal(canonicalDomain('.'), null)
})
