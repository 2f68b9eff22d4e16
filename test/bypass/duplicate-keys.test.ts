import t from 'tap'
import { rawPost } from '../helpers/raw-http.js'
import { assertNoDeniedArrived, errcode, setup, tokenPath } from './helpers.js'

// Duplicate JSON keys: Python's json keeps the last one, so that is the address Synapse mails.
// regguard must judge the last one too; the body is forwarded as sent, never re-serialised.

const EMAIL = tokenPath('v3', 'register', 'email')
const MSISDN = tokenPath('v3', 'account/3pid', 'msisdn')

const CASES: Array<[string, string, string, boolean]> = [
  ['allowed then denied email', EMAIL, '{"client_secret":"cs","email":"ok@example.org","send_attempt":1,"email":"x@evil.example"}', true],
  ['denied then allowed email', EMAIL, '{"client_secret":"cs","email":"x@evil.example","send_attempt":1,"email":"ok@example.org"}', false],
  ['the second key spelled with an escape', EMAIL, '{"client_secret":"cs","email":"ok@example.org","send_attempt":1,"\\u0065mail":"x@evil.example"}', true],
  ['the first key spelled with an escape', EMAIL, '{"client_secret":"cs","\\u0065mail":"x@evil.example","send_attempt":1,"email":"ok@example.org"}', false],
  ['three copies, the last denied', EMAIL, '{"email":"a@example.org","client_secret":"cs","email":"b@example.org","send_attempt":1,"email":"c@EVIL.example"}', true],
  ['a non-string first, denied last', EMAIL, '{"email":1,"client_secret":"cs","send_attempt":1,"email":"x@evil.example"}', true],
  ['allowed then denied phone number', MSISDN, '{"client_secret":"cs","country":"FR","phone_number":"06 12 34 56 78","send_attempt":1,"phone_number":"+44 7700 900123"}', true],
  ['denied then allowed phone number', MSISDN, '{"client_secret":"cs","country":"FR","phone_number":"+44 7700 900123","send_attempt":1,"phone_number":"06 12 34 56 78"}', false],
  ['the country given twice, the last makes it British', MSISDN, '{"client_secret":"cs","country":"FR","phone_number":"07700 900123","send_attempt":1,"country":"GB"}', true]
]

t.test('duplicate keys: the last one is judged', async (t) => {
  const { hs, rg } = await setup(t)
  for (const [name, path, body, denied] of CASES) {
    hs.received.length = 0
    const res = await rawPost(rg.port, path, body, { 'Content-Type': 'application/json' })
    if (denied) {
      t.equal(res.status, 403, `${name}: denied`)
      t.equal(errcode(res), 'M_THREEPID_DENIED', name)
      t.equal(hs.received.length, 0, `${name}: never forwarded`)
    } else {
      t.equal(res.status, 200, `${name}: allowed`)
      t.equal(hs.received[0]?.body.toString(), body, `${name}: forwarded byte for byte`)
    }
  }
  assertNoDeniedArrived(t, hs)
})
