import t from 'tap'
import * as packet from 'dns-packet'
import { MAX_CNAME_LINKS, query, readAnswer } from '../../src/dns/client.js'
import { MID_CHAIN_LINKS, startHostileDns } from './hostile-server.js'

// The stub resolver against answers written to hurt it: each is read in bounded time (the
// reader that searched the chain for every record took about 9 s for a chain of 400 links and
// would take most of an hour for the 64 KiB one), and each is a failure, not a partial reading.

const started = (): () => number => { const t0 = performance.now(); return () => performance.now() - t0 }

t.test('hostile answers are failures, each read within a few milliseconds of event loop', async (t) => {
  const dns = await startHostileDns(t)
  const servers = [{ host: '127.0.0.1', port: dns.port }]
  const cases: Array<[string, RegExp]> = [
    ['x.chain.evil', /answer of more than \d+ records/],
    ['x.huge.evil', /answer of more than \d+ records/],
    ['x.mid.evil', /CNAME chain of more than 16 links/],
    ['x.long.evil', /CNAME chain of more than 16 links/]
  ]
  for (const [name, why] of cases) {
    const elapsed = started()
    const r = await query(servers, name, 'MX', Date.now() + 2000)
    t.ok(elapsed() < 500, `${name}: answered in ${elapsed().toFixed(1)} ms`)
    t.equal(r.ok, false, name)
    t.match((r as { why: string }).why, why, name)
  }
  t.ok(dns.queries.some((q) => q.name === 'x.chain.evil' && q.tcp), 'the truncated answer was asked again over TCP')
  t.ok(dns.queries.some((q) => q.name === 'x.mid.evil' && q.tcp))
})

t.test('readAnswer: one pass by owner name, whatever order the chain comes in', async (t) => {
  const links = MID_CHAIN_LINKS
  const answers: packet.Answer[] = []
  // reverse order: the order in which a reader searching round after round adds one link a round
  for (let i = links - 1; i >= 0; i--) answers.push({ type: 'CNAME', name: i === 0 ? 'q.example' : `l${i - 1}.example`, ttl: 60, data: `l${i}.example` } as packet.Answer)
  answers.push({ type: 'MX', name: `l${links - 1}.example`, ttl: 60, data: { preference: 1, exchange: 'mx.example' } } as packet.Answer)
  const elapsed = started()
  const r = readAnswer({ type: 'response', answers } as never, 'q.example', 'MX')
  t.ok(elapsed() < 20, `read in ${elapsed().toFixed(2)} ms`)
  t.same(r, { ok: false, why: `CNAME chain of more than ${MAX_CNAME_LINKS} links` })
})

t.test('readAnswer: chains up to the limit are followed as before', async (t) => {
  const chainOf = (n: number): packet.Answer[] => {
    const out: packet.Answer[] = []
    for (let i = 0; i < n; i++) out.push({ type: 'CNAME', name: i === 0 ? 'Q.example.' : `l${i - 1}.example`, ttl: 100 - i, data: `L${i}.example` } as packet.Answer)
    out.push({ type: 'MX', name: `l${n - 1}.example`, ttl: 300, data: { preference: 1, exchange: 'mx.example' } } as packet.Answer)
    return out.reverse()
  }
  const at = readAnswer({ type: 'response', answers: chainOf(MAX_CNAME_LINKS) } as never, 'q.example', 'MX')
  t.same(at, { ok: true, rcode: 'NOERROR', records: [{ ttl: 300, data: { preference: 1, exchange: 'mx.example' } }], ttl: 100 - MAX_CNAME_LINKS + 1 }, 'names compared without case or final dot; the smallest TTL on the way')
  t.same(readAnswer({ type: 'response', answers: chainOf(MAX_CNAME_LINKS + 1) } as never, 'q.example', 'MX'), { ok: false, why: `CNAME chain of more than ${MAX_CNAME_LINKS} links` })
  // a loop ends the walk: no records, as before
  const loop = [
    { type: 'CNAME', name: 'q.example', ttl: 5, data: 'r.example' },
    { type: 'CNAME', name: 'r.example', ttl: 5, data: 'q.example' }
  ] as packet.Answer[]
  t.same(readAnswer({ type: 'response', answers: loop } as never, 'q.example', 'MX'), { ok: true, rcode: 'NOERROR', records: [], ttl: null })
  // records of the type at the name asked and at every name of its chain
  const both = [
    { type: 'MX', name: 'q.example', ttl: 50, data: { preference: 1, exchange: 'a.example' } },
    { type: 'CNAME', name: 'q.example', ttl: 40, data: 'r.example' },
    { type: 'MX', name: 'r.example', ttl: 30, data: { preference: 2, exchange: 'b.example' } },
    { type: 'MX', name: 'other.example', ttl: 30, data: { preference: 2, exchange: 'c.example' } }
  ] as packet.Answer[]
  const r = readAnswer({ type: 'response', answers: both } as never, 'q.example', 'MX') as { records: Array<{ data: { exchange: string } }>, ttl: number }
  t.same(r.records.map((x) => x.data.exchange), ['a.example', 'b.example'])
  t.equal(r.ttl, 30)
})
