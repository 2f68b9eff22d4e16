import t from 'tap'
import { parseList } from '../../src/lists/parse.js'

// Which refreshes are refused (the copy in force stays), and which are lists.

const ok = (text: string, previous = 0, type = 'text/plain') => parseList(Buffer.from(text), type, previous)

t.test('a domain list in the disposable-email-domains format', async (t) => {
  const r = ok('\uFEFF0-mail.com\r\n# comment\n\n*Example.ORG  # trailing comment\n.sub.example\nxn--bcher-kva.example\n')
  t.equal(r.ok, true)
  if (r.ok) {
    t.equal(r.entries, 4)
    t.same(r.domains.match('x.example.org'), { entry: '*example.org' })
    t.same(r.domains.match('0-mail.com'), { entry: '0-mail.com' })
  }
  const lines = Array.from({ length: 200 }, (_, i) => `d${i}.example`)
  lines[7] = 'not a domain'
  const r2 = ok(lines.join('\n'))
  t.equal(r2.ok && r2.invalid, 1, 'one bad line in 200 is skipped')
})

t.test('garbage is refused', async (t) => {
  const refused: Array<[Buffer | string, string | undefined, RegExp]> = [
    ['<!DOCTYPE html><html></html>', 'text/plain', /markup/],
    ['ok.example\n', 'text/html; charset=utf-8', /text\/html/],
    ['{"domains": []}', 'application/json', /JSON/],
    [Buffer.from([0x61, 0x00, 0x62]), undefined, /binary/],
    ['a.example\nb c\nd e\n', 'text/plain', /2 of 3 lines are not domains \(first: line 2: "b c"\)/],
    ['# only comments\n\n', 'text/plain', /no entries/],
    ['', 'text/plain', /no entries/]
  ]
  for (const [body, type, why] of refused) {
    const r = parseList(Buffer.from(body), type, 0)
    t.equal(r.ok, false, String(body).slice(0, 20))
    if (!r.ok) t.match(r.why, why)
  }
  const shrink = ok('a.example\n', 11)
  t.equal(shrink.ok, false)
  if (!shrink.ok) t.match(shrink.why, /shrank from 11 to 1 entries/)
  t.equal(ok('a.example\n', 10).ok, true, 'to exactly 10%: accepted')
})
