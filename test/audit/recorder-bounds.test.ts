import t from 'tap'
import { DecisionRecorder, type DecisionInput } from '../../src/audit/recorder.js'
import { MAX_FIELD_CHARS } from '../../src/log.js'
import type { NewDecision } from '../../src/store/store.js'
import { BACKENDS, openTestStore } from '../store/backends.js'

// What the history's queue and table may hold: bounded texts, a queue bounded in bytes, a
// table bounded in rows (audit.max_rows) with the oldest deleted first and counted.

const redact = (_m: 'email' | 'msisdn', a: string): string => a
const denial = (i: number, over: Partial<DecisionInput> = {}): DecisionInput => ({ endpoint: 'register/requestToken', medium: 'email', address: `u${i}@example.org`, result: 'deny', rule: 'default', detail: 'allowed: false', client_ip: '192.0.2.1', ...over })

t.test('every text is cut before it is queued, and cut texts fold as repeats', async (t) => {
  const rows: NewDecision[] = []
  const r = new DecisionRecorder({ write: async (b) => { rows.push(...b) }, fullAddresses: () => true, redact, intervalMs: 60_000 })
  const huge = 'x'.repeat(60_000)
  for (let i = 0; i < 3; i++) r.record({ endpoint: 'register', medium: 'none', address: null, result: 'deny', rule: 'require_3pid', detail: `stage ${huge}${i} would finish`, client_ip: '192.0.2.1' })
  r.record(denial(0, { address: `${huge}@${huge}.example`, rule: huge, endpoint: huge }))
  await r.close()
  t.equal(rows.length, 2, 'three refusals cut to the same text are one row')
  t.equal(rows[0]?.count, 3)
  for (const row of rows) {
    for (const field of ['endpoint', 'rule', 'detail', 'client_ip', 'address', 'domain'] as const) {
      const v = row[field]
      t.ok(v === null || v.length <= MAX_FIELD_CHARS, `${field}: ${v === null ? 'null' : v.length} characters`)
    }
  }
  t.match(rows[0]?.detail, /^stage x+…\[cut \d+\]$/)
})

t.test('the queue is bounded in bytes: the oldest make room, counted', async (t) => {
  const dropped: Array<[string, number]> = []
  const r = new DecisionRecorder({ write: async () => {}, fullAddresses: () => true, redact, intervalMs: 60_000, batchSize: 1_000_000, maxQueued: 1_000_000, maxQueuedBytes: 200_000, onDropped: (why, n) => { dropped.push([why, n]) } })
  const long = 'd'.repeat(250)
  for (let i = 0; i < 5000; i++) r.record(denial(i, { detail: `${long}${i}` }))
  t.ok(r.queuedBytes <= 200_000, `${r.queuedBytes} bytes queued`)
  t.ok(r.queued < 1000, `${r.queued} records queued`)
  t.equal(r.queued + r.droppedBy.queue_full, 5000, 'every record either waits or was counted as dropped')
  t.ok(dropped.every(([why]) => why === 'queue_full'))
  await r.close()
})

for (const backend of BACKENDS) {
  t.test(`${backend}: audit.max_rows holds through a flood of unique denials, oldest dropped first`, async (t) => {
    const store = await openTestStore(t, backend)
    let maxRows = 1000
    const r = new DecisionRecorder({
      write: (b) => store.decisions.addMany(b),
      fullAddresses: () => true,
      redact,
      intervalMs: 60_000,
      batchSize: 250,
      maxRows: () => maxRows,
      trim: (n, atMost) => store.decisions.trim(n, atMost)
    })
    for (let i = 0; i < 5000; i++) {
      r.record(denial(i))
      if (i % 250 === 249) await r.flush()
    }
    // a repeat folded into a row: dropping that row drops its count
    for (let i = 0; i < 10; i++) r.record(denial(5000))
    await r.flush()
    const rows: string[] = []
    let from: string | undefined
    do {
      const page = await store.decisions.list({ limit: 500, from })
      rows.push(...page.decisions.map((d) => d.address ?? ''))
      from = page.next
    } while (from !== undefined)
    t.ok(rows.length <= maxRows, `${rows.length} rows kept`)
    t.ok(rows.length > maxRows - 250, 'not far below the bound')
    t.equal(rows[0], 'u5000@example.org', 'the newest kept')
    t.notOk(rows.includes('u0@example.org'), 'the oldest dropped')
    t.equal(r.droppedBy.max_rows, 5010 - (rows.length - 1 + 10), 'every dropped decision counted (5,010 made, the kept rows hold the rest)')
    // lowering the bound applies after the next batch
    maxRows = 100
    r.record(denial(6000))
    await r.close()
    const after = await store.decisions.list({ limit: 500 })
    t.ok(after.decisions.length <= 100, `${after.decisions.length} rows after the bound was lowered`)
  })
}

for (const backend of BACKENDS) {
  t.test(`${backend}: a big history is trimmed a slice at a time`, async (t) => {
    const store = await openTestStore(t, backend)
    const row = (i: number): NewDecision => ({ at: i, endpoint: 'register/requestToken', medium: 'email', result: 'deny', rule: 'default', detail: 'allowed: false', client_ip: '192.0.2.1', address: `u${i}@example.org`, domain: 'example.org', count: 2 })
    for (let i = 0; i < 12_000; i += 500) await store.decisions.addMany(Array.from({ length: 500 }, (_, k) => row(i + k)))
    t.same(await store.decisions.trim(100, 3), { rows: 3, decisions: 6 }, 'at most atMost rows a call, their counts summed')
    t.same(await store.decisions.trim(20_000, 1000), { rows: 0, decisions: 0 }, 'within the bound: nothing')
    // the recorder calls it until the bound holds, letting the event loop go between calls
    let turns = 0
    const ticker = setInterval(() => { turns++ }, 0)
    const r = new DecisionRecorder({ write: (b) => store.decisions.addMany(b), fullAddresses: () => true, redact, intervalMs: 60_000, maxRows: () => 100, trim: (n, atMost) => store.decisions.trim(n, atMost) })
    r.record(denial(99_999))
    await r.close()
    clearInterval(ticker)
    const left = await store.decisions.list({ limit: 500 })
    t.ok(left.decisions.length <= 100 && left.decisions.length > 90, `${left.decisions.length} rows left`)
    t.equal(r.droppedBy.max_rows, 2 * (12_000 - 3 - (left.decisions.length - 1)), 'every dropped decision counted')
    t.ok(turns > 0, 'timers ran while it trimmed')
  })
}
