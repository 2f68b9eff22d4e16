import t from 'tap'
import { rawPost } from '../helpers/raw-http.js'
import { assertNoDeniedArrived, emailBody, errcode, setup, tokenPath } from './helpers.js'

// Spellings of blacklisted addresses (*evil.example, bücher.example, and münchen.example listed
// as xn--mnchen-3ya.example). The policy allows by default, so a spelling that slipped past the
// blacklist would be forwarded and caught. "refuse": Synapse cannot parse it either (or regguard
// cannot judge it), 400 and never forwarded.

type Outcome = 'deny' | 'refuse' | 'allow'

/** Labels in ASCII: a raw U+2028 in a test name would break the TAP stream. */
const show = (s: string): string => JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))

const EMAILS: Array<[string, string, Outcome]> = [
  ['plain', 'eve@evil.example', 'deny'],
  ['upper case', 'EVE@EVIL.EXAMPLE', 'deny'],
  ['mixed case', 'eve@Evil.Example', 'deny'],
  ['subdomain', 'eve@mx.sub.evil.example', 'deny'],
  ['trailing dot', 'eve@evil.example.', 'deny'],
  ['upper case and trailing dot', 'eve@SUB.EVIL.EXAMPLE.', 'deny'],
  ['two trailing dots', 'eve@evil.example..', 'refuse'],
  ['a leading dot', 'eve@.evil.example', 'refuse'],
  ['an empty label', 'eve@evil..example', 'refuse'],
  ['ASCII spaces around', '  eve@evil.example  ', 'deny'],
  ['tab and CRLF around', '\teve@evil.example\r\n', 'deny'],
  ['vertical tab, form feed, separators (Python whitespace)', '\u000b\u000c\u001c\u001feve@evil.example\u001d\u001e', 'deny'],
  ['no-break spaces around', '\u00a0eve@evil.example\u00a0', 'deny'],
  ['em and ideographic spaces around', '\u2003eve@evil.example\u3000', 'deny'],
  ['line separator and NEL around', '\u2028eve@evil.example\u0085', 'deny'],
  ['fullwidth domain', 'eve@ＥＶＩＬ．example', 'deny'],
  ['all fullwidth', 'eve@ｅｖｉｌ．ｅｘａｍｐｌｅ', 'deny'],
  ['ideographic full stop', 'eve@evil。example', 'deny'],
  ['halfwidth ideographic full stop', 'eve@evil｡example', 'deny'],
  ['soft hyphen inside', 'eve@ev\u00adil.example', 'deny'],
  ['zero-width space at the end', 'eve@evil.example\u200b', 'deny'],
  ['quoted local part', '"eve"@evil.example', 'deny'],
  ['quoted local part holding an @', '"eve@x"@evil.example', 'refuse'],
  ['allowed domain quoted in the local part', '"a@evil.example"@example.org', 'refuse'],
  ['two @, the blacklisted domain last', 'eve@ok.example.org@evil.example', 'refuse'],
  ['two @, the blacklisted domain first', 'eve@evil.example@example.org', 'refuse'],
  ['fullwidth @', 'eve＠evil.example', 'refuse'],
  ['percent-encoded dot', 'eve@evil%2Eexample', 'refuse'],
  ['a path after the domain', 'eve@evil.example/x', 'refuse'],
  ['a port after the domain', 'eve@evil.example:25', 'refuse'],
  ['an address literal', 'eve@[evil.example]', 'refuse'],
  ['IDN listed in Unicode, given in Unicode', 'eve@bücher.example', 'deny'],
  ['IDN listed in Unicode, given upper case', 'eve@BÜCHER.example', 'deny'],
  ['IDN listed in Unicode, given as punycode', 'eve@xn--bcher-kva.example', 'deny'],
  ['IDN listed in Unicode, given as upper-case punycode', 'eve@XN--BCHER-KVA.EXAMPLE', 'deny'],
  ['IDN listed as punycode, given in Unicode', 'eve@münchen.example', 'deny'],
  ['IDN listed as punycode, given decomposed (NFD)', 'eve@mu\u0308nchen.example', 'deny'],
  ['IDN listed as punycode, given fullwidth upper case', 'eve@ＭÜＮＣＨＥＮ.example', 'deny'],
  ['IDN listed as punycode, given as punycode', 'eve@xn--mnchen-3ya.example', 'deny'],
  // controls: other domains, which Synapse would mail elsewhere
  ['control: allowed', 'alice@example.org', 'allow'],
  ['control: a name ending in "evil.example" is not a subdomain', 'alice@notevil.example', 'allow'],
  ['control: evil.example as a subdomain of an allowed domain', 'alice@evil.example.org', 'allow'],
  ['control: a Cyrillic look-alike is another domain', 'alice@\u0435vil.example', 'allow'],
  ['control: the blacklisted name in the local part', 'evil.example@example.org', 'allow']
]

t.test('spellings of blacklisted email domains', async (t) => {
  const { hs, rg } = await setup(t)
  for (const endpoint of ['register', 'account/3pid']) {
    const path = tokenPath('v3', endpoint, 'email')
    for (const [name, email, outcome] of EMAILS) {
      hs.received.length = 0
      const body = emailBody(email)
      const res = await rawPost(rg.port, path, body, { 'Content-Type': 'application/json' })
      const label = `${endpoint} ${name} (${show(email)})`
      if (outcome === 'allow') {
        t.equal(res.status, 200, `${label}: allowed`)
        t.equal(hs.received[0]?.body.toString(), body, `${label}: forwarded byte for byte`)
        continue
      }
      t.equal(res.status, outcome === 'deny' ? 403 : 400, `${label}: ${outcome === 'deny' ? 'denied' : 'refused'}`)
      t.equal(errcode(res), outcome === 'deny' ? 'M_THREEPID_DENIED' : 'M_UNKNOWN', label)
      t.equal(hs.received.length, 0, `${label}: never forwarded`)
    }
  }
  assertNoDeniedArrived(t, hs)
})

// GB numbers are blacklisted (pattern 44\d+): spellings of one must never be forwarded
const PHONES: Array<[string, string, string]> = [
  ['national', 'GB', '07700 900123'],
  ['international from another country', 'FR', '+44 7700 900123'],
  ['00 prefix from France', 'FR', '0044 7700 900123'],
  ['punctuation', 'GB', '(07700) 900-123'],
  ['the country code in brackets', 'FR', '(+44) 7700 900123'],
  ['a space after the plus', 'FR', '+ 44 7700 900123'],
  ['a tel: URI', 'FR', 'tel:+44-7700-900123'],
  ['a letter before the plus', 'FR', 'x+44 7700 900123'],
  ['a word joiner first', 'FR', '\u2060+44 7700 900123'],
  ['no-break spaces', 'GB', '07700\u00a0900\u00a0123'],
  ['fullwidth digits', 'GB', '０７７００ ９００１２３'],
  ['Arabic-Indic country code', 'FR', '+٤٤7700900123'],
  ['an extension', 'GB', '07700 900123 ext. 5'],
  ['leading and trailing spaces', 'GB', '  07700900123  ']
]


t.test('spellings of a blacklisted phone number', async (t) => {
  const { hs, rg } = await setup(t)
  for (const [name, country, phone] of PHONES) {
    const res = await rawPost(rg.port, tokenPath('v3', 'register', 'msisdn'), JSON.stringify({ client_secret: 'cs', country, phone_number: phone, send_attempt: 1 }), { 'Content-Type': 'application/json' })
    t.ok(res.status === 403 || res.status === 400, `${name}: not allowed (${res.status} ${String(errcode(res))})`)
  }
  t.equal(hs.received.length, 0, 'none forwarded')
  assertNoDeniedArrived(t, hs)
})

t.test('a blacklisted number behind a fullwidth plus sign', async (t) => {
  const { hs, rg } = await setup(t)
  for (const phone of ['＋44 7700 900123', '＋４４ ７７００ ９００１２３']) {
    const res = await rawPost(rg.port, tokenPath('v3', 'register', 'msisdn'), JSON.stringify({ client_secret: 'cs', country: 'FR', phone_number: phone, send_attempt: 1 }), { 'Content-Type': 'application/json' })
    t.equal(res.status, 403, `${show(phone)}: denied`)
  }
  t.equal(hs.received.length, 0, 'none forwarded')
})
