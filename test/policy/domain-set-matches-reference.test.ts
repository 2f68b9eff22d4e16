import fc from 'fast-check'
import t from 'tap'
import { DomainSet, parseDomainEntry } from '../../src/policy/domain-set.js'

// DomainSet packs its entries in typed arrays to fit a million-line list in memory. It must
// answer exactly as the plain two-Set version it replaced, which is kept here as the reference.

class ReferenceSet {
  readonly exact = new Set<string>()
  readonly parents = new Set<string>()
  get size (): number { return this.exact.size + this.parents.size }
  add (entry: string): boolean {
    const parsed = parseDomainEntry(entry)
    if (parsed === null) return false
    if (parsed.withExact) this.exact.add(parsed.domain)
    if (parsed.withParent) this.parents.add(parsed.domain)
    return true
  }

  // the entry as written: "*d" when d is listed both exactly and with its subdomains
  match (domain: string): { entry: string } | undefined {
    if (this.exact.has(domain)) return { entry: this.parents.has(domain) ? '*' + domain : domain }
    let i = domain.indexOf('.')
    while (i !== -1) {
      const parent = domain.slice(i + 1)
      if (this.parents.has(parent)) return { entry: (this.exact.has(parent) ? '*' : '.') + parent }
      i = domain.indexOf('.', i + 1)
    }
    return undefined
  }
}

// few distinct labels, so entries and queries collide, nest and repeat often
const label = fc.constantFrom('a', 'b', 'ex', 'org', 'xn--bcher-kva', 'Mail', '-', '_x', '1')
const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('.'))
const entry = fc.tuple(fc.constantFrom('', '*', '.', '*.', ' '), name, fc.constantFrom('', '.', ' ', '..')).map(([p, n, s]) => p + n + s)
const query = fc.oneof(name, name.map((n) => n.toLowerCase()), fc.constantFrom('', '.', 'a..b', '.a', 'b.', 'ü.ex', 'a.ü.ex'))

t.test('add, size and match agree with the two-Set reference', async (t) => {
  fc.assert(fc.property(fc.array(entry, { maxLength: 60 }), fc.array(query, { maxLength: 40 }), (entries, queries) => {
    const set = new DomainSet()
    const ref = new ReferenceSet()
    for (const e of entries) {
      if (set.add(e) !== ref.add(e)) return false
    }
    if (set.size !== ref.size) return false
    for (const q of [...queries, ...ref.exact, ...ref.parents, ...[...ref.parents].map((p) => 'sub.' + p)]) {
      if (JSON.stringify(set.match(q)) !== JSON.stringify(ref.match(q))) return false
    }
    return true
  }), { numRuns: 500 })
  t.pass('500 random lists agree')
})

t.test('growth keeps every entry findable', async (t) => {
  const set = new DomainSet()
  const ref = new ReferenceSet()
  for (let i = 0; i < 50_000; i++) {
    const e = i % 3 === 0 ? `*d${i}.example` : i % 3 === 1 ? `.d${i}.example` : `d${i}.example`
    set.add(e)
    ref.add(e)
  }
  t.equal(set.size, ref.size)
  let wrong = 0
  for (let i = 0; i < 50_000; i++) {
    for (const q of [`d${i}.example`, `x.d${i}.example`, `d${i}.example.org`]) {
      if (JSON.stringify(set.match(q)) !== JSON.stringify(ref.match(q))) wrong++
    }
  }
  t.equal(wrong, 0)
  t.same(set.match('a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.'.repeat(5) + 'd3.example'), { entry: '*d3.example' }, 'more labels than the first scratch holds')
})

t.test('an empty set matches nothing', async (t) => {
  const set = new DomainSet()
  t.equal(set.size, 0)
  t.equal(set.match('example.org'), undefined)
  t.equal(set.match(''), undefined)
})
