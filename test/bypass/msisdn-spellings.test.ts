import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { rawPost } from '../helpers/raw-http.js'
import { errcode, policedArrivals, safeWindow, setup, tokenPath, uniqueIp } from './helpers.js'

// Phone numbers as the homeserver reads them (Python phonenumbers, Debian's python3-phonenumbers
// as the oracle): a number the policy denies never reaches the homeserver, however its digits
// are written, and the spellings of one number share one per-address rate-limit bucket.

const show = (s: string): string => JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
const dev = (s: string): string => s.replace(/\d/g, (d) => String.fromCodePoint(0x966 + Number(d)))
const thai = (s: string): string => s.replace(/\d/g, (d) => String.fromCodePoint(0xe50 + Number(d)))
const mongolian = (s: string): string => s.replace(/\d/g, (d) => String.fromCodePoint(0x1810 + Number(d)))
const fullwidth = (s: string): string => s.replace(/\d/g, (d) => String.fromCodePoint(0xff10 + Number(d)))

/** What Synapse stores for each body: phonenumbers.parse(phone_number, country), E.164 without "+". */
function synapseReads (bodies: Buffer[]): Array<string | null> {
  const script = `
import json, sys, phonenumbers
out = []
for body in json.load(sys.stdin):
    try:
        b = json.loads(body)
        out.append(phonenumbers.format_number(phonenumbers.parse(b["phone_number"], b["country"]), phonenumbers.PhoneNumberFormat.E164)[1:])
    except Exception:
        out.append(None)
json.dump(out, sys.stdout)
`
  const r = spawnSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(bodies.map((b) => b.toString())), encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as Array<string | null>
}

function body (country: string, phone: string): string {
  return JSON.stringify({ client_secret: 'cs' + randomBytes(4).toString('hex'), country, phone_number: phone, send_attempt: 1 })
}

// only UK numbers may register; the US number below is what Synapse reads for the first spellings
const UK_ONLY = { register: { policy: { allowed: false, threepid: { msisdn: { pattern: { whitelist: ['44\\d+'] } } } } } }

const NOT_UK: Array<[string, string, string]> = [
  ['the issue: two DEVANAGARI DIGIT ZERO, the UK IDD prefix', 'GB', '\u0966\u09661 202 555 0100'],
  ['the IDD prefix in Thai digits', 'GB', '\u0e50\u0e501 202 555 0100'],
  ['the IDD prefix in Mongolian digits', 'GB', '\u1810\u18101 202 555 0100'],
  ['the IDD prefix in math bold digits', 'GB', '\u{1d7ce}\u{1d7ce}1 202 555 0100'],
  ['the IDD prefix in Myanmar digits', 'GB', '\u1040\u10401 202 555 0100'],
  ['all Devanagari', 'GB', dev('001 202 555 0100')],
  ['US IDD prefix written in Bengali, a French number', 'US', '\u09e6\u09e7\u09e7 33 6 12 34 56 78'],
  ['a fullwidth plus', 'GB', '\uff0b1 202 555 0100'],
  ['the IDD prefix after a word joiner', 'GB', '\u2060001 202 555 0100'],
  ['"+" then the IDD prefix', 'GB', '+001 202 555 0100'],
  ['country code in Extended Arabic-Indic', 'GB', '+\u06f1 202 555 0100'],
  ['Russian IDD 810 in Thai', 'RU', thai('810') + ' 1 202 555 0100']
]

t.test('a number the policy denies, as the homeserver reads it, never reaches the homeserver', async (t) => {
  const { hs, rg } = await setup(t, UK_ONLY)
  for (const endpoint of ['register', 'account/3pid']) {
    for (const [name, country, phone] of NOT_UK) {
      const res = await rawPost(rg.port, tokenPath('v3', endpoint, 'msisdn'), body(country, phone), { 'Content-Type': 'application/json' })
      t.ok(res.status === 403 || res.status === 400, `${endpoint} ${name} (${country} ${show(phone)}): ${res.status} ${String(errcode(res))}`)
      if (res.status === 403) t.equal(errcode(res), 'M_THREEPID_DENIED', name)
      else t.equal(errcode(res), 'M_INVALID_PARAM', name)
    }
  }
  t.equal((await rawPost(rg.port, tokenPath('v3', 'register', 'msisdn'), body('GB', '\u0966\u09661 202 555 0100'), { 'Content-Type': 'application/json' })).status, 403, 'the Devanagari case is denied, not merely refused')
  t.equal(policedArrivals(hs).length, 0, 'none of them reached the homeserver')
  // controls: UK numbers, however written, are let through byte for byte
  const allowed = [body('GB', '07700 900123'), body('GB', dev('07700 900123')), body('FR', thai('0044 7700 900123')), body('GB', '\uff0b44 7700 900123')]
  for (const b of allowed) {
    const before = hs.received.length
    const res = await rawPost(rg.port, tokenPath('v3', 'register', 'msisdn'), b, { 'Content-Type': 'application/json' })
    t.equal(res.status, 200, `${show(b)}: allowed`)
    t.equal(hs.received[before]?.body.toString(), b, 'forwarded byte for byte')
  }
  // the leak check, by the homeserver's own reading of what arrived
  const arrived = policedArrivals(hs).map((r) => r.body)
  const reads = synapseReads(arrived)
  t.equal(reads.length, allowed.length, 'only the controls arrived')
  t.same(reads.filter((m) => m === null || !/^44\d+$/.test(m)), [], 'everything that arrived is a UK number to phonenumbers')
})

t.test('spellings of one number share one per-address bucket', async (t) => {
  const window = safeWindow()
  const { hs, rg } = await setup(t, { register: { policy: { allowed: true }, rate_limit: { enabled: true, per_ip: { max: 0, window }, per_address: { max: 2, window } } } })
  const path = tokenPath('v3', 'register', 'msisdn')
  const spellings: Array<[string, string]> = [
    ['GB', '07700 900123'],
    ['FR', '+44 7700 900123'],
    ['GB', dev('07700 900123')],
    ['GB', '07700 90012' + thai('3')],
    ['GB', mongolian('07700') + ' 900123'],
    ['US', fullwidth('011 44 7700 900123')],
    ['GB', '\u0966\u0966' + '44 7700 900123'],
    ['DE', '\uff0b44 (0) 7700 900123']
  ]
  const reads = synapseReads(spellings.map(([c, p]) => Buffer.from(body(c, p))))
  t.same(reads, spellings.map(() => '447700900123'), 'phonenumbers reads every spelling as one number')
  for (const [i, [country, phone]] of spellings.entries()) {
    const res = await rawPost(rg.port, path, body(country, phone), { 'Content-Type': 'application/json', 'X-Forwarded-For': uniqueIp() })
    t.equal(res.status, i < 2 ? 200 : 429, `${country} ${show(phone)}: ${i < 2 ? 'passes' : 'limited as the same number'}`)
  }
  t.equal(policedArrivals(hs).length, 2, 'the homeserver was asked twice')
  t.equal((await rawPost(rg.port, path, body('GB', '07700 900124'), { 'Content-Type': 'application/json', 'X-Forwarded-For': uniqueIp() })).status, 200, 'another number has its own bucket')
})
