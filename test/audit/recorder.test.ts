import t from 'tap'
import { DecisionRecorder, type DecisionInput } from '../../src/audit/recorder.js'
import { createSecretKey } from 'node:crypto'
import { redactAddress } from '../../src/log.js'

const KEY = createSecretKey(Buffer.from('recorder-test-key'))
const redact = (m: 'email' | 'msisdn', a: string, full: boolean): string => redactAddress(m, a, full, KEY)
import type { NewDecision } from '../../src/store/store.js'
import { openTestStore } from '../store/backends.js'

// The recorder's queue: bounded, oldest dropped (and counted) when full, written in batches,
// flushed on close, and record() returns at once whatever the store is doing.

const input = (n: number, over: Partial<DecisionInput> = {}): DecisionInput => ({
  endpoint: 'register/requestToken', medium: 'email', address: `user${n}@example.org`, result: 'deny', rule: 'default', detail: `n=${n}`, client_ip: '192.0.2.7', ...over
})

t.test('a full queue drops the oldest waiting records and counts them', async (t) => {
  const store = await openTestStore(t, 'sqlite')
  const drops: Array<[string, number]> = []
  const rec = new DecisionRecorder({ write: (b) => store.decisions.addMany(b), fullAddresses: () => false, redact, maxQueued: 10, batchSize: 1000, intervalMs: 60_000, onDropped: (reason, n) => drops.push([reason, n]) })
  for (let n = 1; n <= 15; n++) rec.record(input(n))
  t.equal(rec.queued, 10, 'never more than maxQueued waiting')
  t.equal(rec.dropped, 5)
  t.same(drops, Array.from({ length: 5 }, () => ['queue_full', 1]), 'each drop reported')
  await rec.close()
  const kept = (await store.decisions.list({ limit: 100 })).decisions.map((d) => d.detail).reverse()
  t.same(kept, Array.from({ length: 10 }, (_, i) => `n=${i + 6}`), 'the newest ten were written, in order')
  t.equal(rec.written, 10)
})

t.test('records are written in batches, redacted as the logs redact them', async (t) => {
  const batches: NewDecision[][] = []
  let full = false
  const rec = new DecisionRecorder({ write: async (b) => { batches.push(b) }, fullAddresses: () => full, redact, batchSize: 3, intervalMs: 60_000 })
  for (let n = 1; n <= 7; n++) rec.record(input(n))
  full = true
  rec.record(input(8, { medium: 'msisdn', address: '447700900123' }))
  rec.record(input(9, { medium: 'none', address: null, endpoint: 'register', rule: 'require_3pid' }))
  await rec.close()
  t.same(batches.map((b) => b.length), [3, 3, 3], 'batchSize at a time')
  const rows = batches.flat()
  t.equal(rows[0]?.address, redact('email', 'user1@example.org', false), 'hashed local part, as in the logs')
  t.notMatch(rows[0]?.address, /user1/)
  t.equal(rows[0]?.domain, 'example.org', 'the domain kept whole for the filter')
  t.equal(rows[7]?.address, '447700900123', 'log.full_addresses: whole, read when recorded')
  t.equal(rows[7]?.domain, null, 'no domain for a phone number')
  t.match(rows[8], { medium: 'none', address: null, domain: null, rule: 'require_3pid' })
})

t.test('a batch reaching batchSize is written without waiting for the timer', async (t) => {
  const written: number[] = []
  const rec = new DecisionRecorder({ write: async (b) => { written.push(b.length) }, fullAddresses: () => false, redact, batchSize: 4, intervalMs: 60_000 })
  t.teardown(() => rec.close())
  for (let n = 1; n <= 4; n++) rec.record(input(n))
  t.same(written, [], 'not inside record()')
  await new Promise((resolve) => setImmediate(resolve))
  await rec.flush()
  t.same(written, [4])
})

t.test('a store that refuses a batch loses that batch only, counted', async (t) => {
  let fail = true
  const drops: Array<[string, number]> = []
  const errors: unknown[] = []
  const ok: NewDecision[] = []
  const rec = new DecisionRecorder({ write: async (b) => { if (fail) throw new Error('disk full'); ok.push(...b) }, fullAddresses: () => false, redact, intervalMs: 60_000, onDropped: (r, n) => drops.push([r, n]), onError: (e) => errors.push(e) })
  rec.record(input(1))
  rec.record(input(2))
  await rec.flush()
  t.same(drops, [['store_error', 2]])
  t.match(errors, [{ message: 'disk full' }])
  fail = false
  rec.record(input(3))
  await rec.close()
  t.same(ok.map((d) => d.detail), ['n=3'])
  t.equal(rec.dropped, 2)
})

t.test('record() returns at once while the store hangs, and the queue stays bounded', async (t) => {
  let release: () => void = () => {}
  const hung = new Promise<void>((resolve) => { release = resolve })
  let writes = 0
  const rec = new DecisionRecorder({ write: async () => { writes++; await hung }, fullAddresses: () => false, redact, maxQueued: 100, batchSize: 10, intervalMs: 5 })
  const started = process.hrtime.bigint()
  for (let n = 0; n < 10_000; n++) rec.record(input(n))
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  t.ok(ms < 500, `10000 records queued in ${ms.toFixed(1)} ms`)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(writes, 1, 'one batch in flight; the timer piles up no more writes')
  t.ok(rec.queued <= 100, `queue bounded (${rec.queued})`)
  release()
  await rec.close()
})

t.test('repeats of a waiting decision fold into its row and count; once taken for writing, a repeat starts a new row', async (t) => {
  const batches: NewDecision[][] = []
  const drops: Array<[string, number]> = []
  const rec = new DecisionRecorder({ write: async (b) => { batches.push(b) }, fullAddresses: () => false, redact, batchSize: 1000, intervalMs: 60_000, onDropped: (reason, n) => drops.push([reason, n]) })
  for (let i = 0; i < 5000; i++) rec.record(input(1))
  rec.record(input(1, { client_ip: '192.0.2.8' }))
  rec.record(input(1, { result: 'allow', rule: 'invite' }))
  t.equal(rec.queued, 3, 'three distinct decisions waiting')
  await rec.flush()
  for (let i = 0; i < 3; i++) rec.record(input(1))
  await rec.close()
  t.same(batches.map((b) => b.map((r) => [r.client_ip, r.result, r.count])), [
    [['192.0.2.7', 'deny', 5000], ['192.0.2.8', 'deny', 1], ['192.0.2.7', 'allow', 1]],
    [['192.0.2.7', 'deny', 3]]
  ])
  t.equal(rec.written, 5005, 'written counts decisions, not rows')
  t.same(drops, [])
})

t.test('a full queue drops the oldest row with all the decisions folded into it', async (t) => {
  const drops: Array<[string, number]> = []
  const rows: NewDecision[] = []
  const rec = new DecisionRecorder({ write: async (b) => { rows.push(...b) }, fullAddresses: () => false, redact, maxQueued: 2, batchSize: 1000, intervalMs: 60_000, onDropped: (reason, n) => drops.push([reason, n]) })
  for (let i = 0; i < 10; i++) rec.record(input(1))
  rec.record(input(2))
  rec.record(input(3))
  t.same(drops, [['queue_full', 10]])
  t.equal(rec.dropped, 10)
  // the dropped row's key is gone: the same decision again is a new row, not a lost count
  rec.record(input(1))
  await rec.close()
  t.same(rows.map((r) => [r.detail, r.count]), [['n=3', 1], ['n=1', 1]])
  t.same(drops, [['queue_full', 10], ['queue_full', 1]])
})

t.test('a batch the store refuses counts every decision folded into it as dropped', async (t) => {
  const drops: Array<[string, number]> = []
  const rec = new DecisionRecorder({ write: async () => { throw new Error('disk full') }, fullAddresses: () => false, redact, batchSize: 1000, intervalMs: 60_000, onDropped: (reason, n) => drops.push([reason, n]), onError: () => {} })
  for (let i = 0; i < 7; i++) rec.record(input(1))
  rec.record(input(2))
  await rec.close()
  t.same(drops, [['store_error', 8]])
  t.equal(rec.written, 0)
})

t.test('decisions differing in any field are never folded together, whatever their text holds', async (t) => {
  const rows: NewDecision[] = []
  const rec = new DecisionRecorder({ write: async (b) => { rows.push(...b) }, fullAddresses: () => true, redact, batchSize: 1000, intervalMs: 60_000 })
  const base = input(1)
  const variants: Array<Partial<DecisionInput>> = [
    {}, { address: 'a\u0000b@x.org' }, { address: 'a@x.org', detail: '\u0000' }, { address: 'a@x.org\u0000', detail: '' },
    { address: '1:a@x.org' }, { address: null, medium: 'none' }, { endpoint: 'account/requestToken' }, { rule: 'blacklist' }, { result: 'allow' }, { client_ip: '192.0.2.70' }
  ]
  for (const v of variants) rec.record({ ...base, ...v })
  await rec.close()
  t.equal(rows.length, variants.length)
  t.ok(rows.every((r) => r.count === 1))
})

t.test('alternating decisions, and one that differs only in log.full_addresses, fold only into their own rows', async (t) => {
  const rows: NewDecision[] = []
  let full = false
  const rec = new DecisionRecorder({ write: async (b) => { rows.push(...b) }, fullAddresses: () => full, redact, batchSize: 1000, intervalMs: 60_000 })
  // A B A B ... (the last-decision shortcut never hits), then runs of A (it does)
  for (let i = 0; i < 6; i++) rec.record(input(i % 2 === 0 ? 1 : 2))
  for (let i = 0; i < 4; i++) rec.record(input(1))
  full = true
  for (let i = 0; i < 3; i++) rec.record(input(1))
  // each field on its own makes another decision
  for (const over of [{ endpoint: 'account/requestToken' }, { detail: 'other' }, { rule: 'other' }, { medium: 'msisdn' as const, address: '441234' }]) rec.record(input(1, over))
  await rec.close()
  t.same(rows.map((r) => [r.endpoint, r.detail, r.rule, r.address?.includes('@') === true ? r.address.endsWith('example.org') : r.address, r.count]).slice(0, 3), [
    ['register/requestToken', 'n=1', 'default', true, 7],
    ['register/requestToken', 'n=2', 'default', true, 3],
    ['register/requestToken', 'n=1', 'default', true, 3]
  ])
  t.equal(rows[2]?.address, 'user1@example.org', 'the full_addresses run is its own row, written in full')
  t.not(rows[0]?.address, 'user1@example.org', 'the others hashed')
  t.equal(rows.length, 7, 'every differing field made a row of its own')
  t.same(rows.slice(3).map((r) => r.count), [1, 1, 1, 1])
})
