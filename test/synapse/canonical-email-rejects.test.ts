import t from 'tap'
import { canonicalEmail } from '../../src/synapse/canonical.js'

// What Synapse's validate_email refuses, regguard refuses too ("Unable to parse email address").

t.test('exactly one @: two, none, or a quoted local part holding one', async (t) => {
  for (const bad of ['a@b@example.org', '"a@b"@example.org', 'example.org', '', '@@', 'a@@example.org']) {
    t.same(canonicalEmail(bad), { ok: false, reason: 'not exactly one @' }, JSON.stringify(bad))
  }
})

t.test('not a string', async (t) => {
  for (const bad of [null, undefined, 42, ['a@b.c'], { email: 'a@b.c' }]) t.equal(canonicalEmail(bad).ok, false, JSON.stringify(bad))
})

t.test('length 3..500 after strip and casefold, counted in code points like Synapse', async (t) => {
  t.same(canonicalEmail('a@b'), { ok: true, address: 'a@b' }, '3 is the minimum')
  t.same(canonicalEmail('  a@b  '), { ok: true, address: 'a@b' }, 'whitespace stripped first')
  t.equal(canonicalEmail('@b').ok, false, '2 is too short')
  t.equal(canonicalEmail('a@').ok, false)
  const domain = '@example.org' // 12 characters
  t.equal(canonicalEmail('a'.repeat(488) + domain).ok, true, '500 is the maximum')
  t.equal(canonicalEmail('a'.repeat(489) + domain).ok, false, '501 is too long')
  // 488 astral characters are 976 UTF-16 units but 488 code points, as Python counts them
  t.equal(canonicalEmail('𝒶'.repeat(488) + domain).ok, true, 'astral characters count once')
  // Synapse measures after casefold: 245 "ß" are 245 characters typed, 490 stored
  t.equal(canonicalEmail('ß'.repeat(244) + domain).ok, true, '488 + 12 after folding')
  t.equal(canonicalEmail('ß'.repeat(245) + domain).ok, false, '490 + 12 after folding')
})

t.test('the length limit applies to Synapse\'s form, not to the punycode domain', async (t) => {
  // 487 + "@bücher.de" (10) = 497 in Synapse's form; the xn-- form is longer than 500
  const c = canonicalEmail('a'.repeat(487) + '@bücher.de')
  t.same(c, { ok: true, address: 'a'.repeat(487) + '@xn--bcher-kva.de' })
})

t.test('a domain that is no host name is refused', async (t) => {
  for (const bad of ['a@ex ample.org', 'a@.example.org', 'a@example..org', 'a@[127.0.0.1]', 'a@exa:mple.org']) {
    t.equal(canonicalEmail(bad).ok, false, bad)
  }
})

t.test('regression: domainToASCII truncated at "/" and percent-decoded, so a@good.org/x passed as a@good.org', async (t) => {
  // Synapse stores the domain as typed; a canonical form that drops part of it would let
  // "x@good.org/attacker" meet a whitelist entry for good.org
  for (const bad of ['x@good.org/attacker.example', 'x@go%6fd.org', 'x@good.org?x', 'x@good.org#x', 'x@good.org\\x', 'x@bücher.de/x', 'x@ex*ample.org', 'x@a,b.org']) {
    t.equal(canonicalEmail(bad).ok, false, bad)
  }
})

t.test('regression: "evil.org.." kept a trailing dot and escaped an evil.org blacklist', async (t) => {
  t.equal(canonicalEmail('a@evil.org..').ok, false)
  t.equal(canonicalEmail('a@bücher.de..').ok, false)
  t.same(canonicalEmail('a@evil.org.'), { ok: true, address: 'a@evil.org' }, 'one trailing dot is the same domain')
})
