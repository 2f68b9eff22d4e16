import t from 'tap'
import { Registry } from 'prom-client'
import { TalliedCounter } from '../src/metrics.js'

// The request paths' counter tallies in a Map and hands the tallies to prom-client when read:
// every increment must appear once, under its own labels, however the reads fall.

t.test('a tallied counter shows every increment once, by its labels, across several reads', async (t) => {
  const registry = new Registry()
  const c = new TalliedCounter({ name: 'test_total', help: 'h', labelNames: ['a', 'b'] as const, registers: [registry] })
  const value = async (a: string, b: string): Promise<number | undefined> =>
    (await c.counter.get()).values.find((v) => v.labels.a === a && v.labels.b === b)?.value
  for (let i = 0; i < 5; i++) c.inc({ a: 'x', b: 'y' })
  c.inc({ a: 'x', b: 'z' })
  // label values that would collide if joined carelessly stay apart
  c.inc({ a: 'x\0y', b: '' })
  c.inc({ a: 'x', b: 'y\0' })
  c.inc({ a: '1:x', b: '' })
  c.inc({ a: '', b: '1:x' })
  t.equal(await value('x', 'y'), 5)
  t.equal(await value('x', 'z'), 1)
  for (const [a, b] of [['x\0y', ''], ['x', 'y\0'], ['1:x', ''], ['', '1:x']]) t.equal(await value(a as string, b as string), 1, `${JSON.stringify([a, b])} counted apart`)
  t.equal(await value('x', 'y'), 5, 'a second read adds nothing')
  c.inc({ a: 'x', b: 'y' })
  t.match(await registry.metrics(), /test_total\{a="x",b="y"\} 6/, 'the registry (what /metrics serves) reads the tallies too')
})

t.test('a tallied counter: floods of one label set, alternations and a label set differing in one value all count apart and exactly', async (t) => {
  const c = new TalliedCounter({ name: 'alternating_total', help: 'h', labelNames: ['a', 'b', 'c'] as const, registers: [new Registry()] })
  const value = async (a: string, b: string, cc: string): Promise<number | undefined> =>
    (await c.counter.get()).values.find((v) => v.labels.a === a && v.labels.b === b && v.labels.c === cc)?.value
  const expected = new Map<string, number>()
  const sets: Array<[string, string, string]> = [['x', 'y', 'z'], ['x', 'y', 'w'], ['v', 'y', 'z'], ['x', 'u', 'z']]
  // runs of one set (the last-seen shortcut), then every set in turn (it never hits)
  const order = [0, 0, 0, 1, 0, 1, 2, 3, 3, 0, 2, 2, 1]
  for (const i of order) {
    const [a, b, cc] = sets[i] as [string, string, string]
    // fresh strings, as a request builds them: equal by value, not the same objects
    c.inc({ a: `${a}`.concat(''), b: [b].join(''), c: cc })
    expected.set(sets[i]!.join('|'), (expected.get(sets[i]!.join('|')) ?? 0) + 1)
  }
  for (const [k, n] of expected) {
    const [a, b, cc] = k.split('|') as [string, string, string]
    t.equal(await value(a, b, cc), n, `${k} counted ${n} times`)
  }
  c.inc({ a: 'x', b: 'y', c: 'z' })
  t.equal(await value('x', 'y', 'z'), (expected.get('x|y|z') ?? 0) + 1, 'counting goes on after a read')
})
