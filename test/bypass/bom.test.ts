import t from 'tap'
import { rawPost } from '../helpers/raw-http.js'
import { assertNoDeniedArrived, bodyFor, errcode, MEDIA, policedArrivals, setup, TOKEN_PATHS } from './helpers.js'

// A UTF-8 byte order mark before the JSON: Python's json refuses it ("Unexpected UTF-8 BOM"), so
// Synapse answers M_NOT_JSON. regguard answers the same and forwards nothing, allowed or not.

const BOM = Buffer.from([0xef, 0xbb, 0xbf])

const SPELLINGS: Array<[string, (json: string) => Buffer]> = [
  ['BOM first', (j) => Buffer.concat([BOM, Buffer.from(j)])],
  ['BOM after whitespace', (j) => Buffer.concat([Buffer.from(' \n'), BOM, Buffer.from(j)])],
  ['two BOMs', (j) => Buffer.concat([BOM, BOM, Buffer.from(j)])],
  ['BOM at the end', (j) => Buffer.concat([Buffer.from(j), BOM])],
  ['UTF-16 BOM', (j) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(j, 'utf16le')])],
  ['a BOM escaped as text', (j) => Buffer.from('\\ufeff' + j)]
]

t.test('a byte order mark before the JSON', async (t) => {
  const { hs, rg } = await setup(t)
  for (const { path, medium } of TOKEN_PATHS.filter((p) => p.prefix === 'v3')) {
    for (const [name, spell] of SPELLINGS) {
      for (const denied of [true, false]) {
        const res = await rawPost(rg.port, path, spell(bodyFor(medium, denied)), { 'Content-Type': 'application/json' })
        t.equal(res.status, 400, `${path} ${name} (${denied ? 'denied' : 'allowed'} address)`)
        t.equal(errcode(res), 'M_NOT_JSON', `${path} ${name}`)
      }
    }
  }
  t.same(policedArrivals(hs).map((r) => r.url), [], 'nothing forwarded')
  assertNoDeniedArrived(t, hs)
  t.equal(MEDIA.length, 2)
})
