import t from 'tap'
import { SendQueue, type SendResult } from '../../src/notify/queue.js'

// The send queue on its own: bounded, retried with backoff, given up after its attempts, one
// send at a time, a notice that keeps failing not holding up the next.

function recorder (): { results: SendResult[], onResult: (r: SendResult) => void } {
  const results: SendResult[] = []
  return { results, onResult: (r) => { results.push(r) } }
}

const settle = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

t.test('retries with backoff until sent', async (t) => {
  const r = recorder()
  const q = new SendQueue({ maxQueued: () => 10, attempts: () => 5, onResult: r.onResult, baseBackoffMs: 20 })
  t.teardown(() => q.close())
  const tries: number[] = []
  q.push(async () => {
    tries.push(Date.now())
    if (tries.length < 3) throw new Error(`refused ${tries.length}`)
  })
  await settle(300)
  t.equal(tries.length, 3)
  t.same(r.results, ['retried', 'retried', 'sent'])
  t.ok((tries[2] as number) - (tries[1] as number) >= (tries[1] as number) - (tries[0] as number), 'the wait doubles')
  t.match(q.status(), { sent: 1, failed: 0, failing: false, last_error: 'refused 2', queued: 0 })
})

t.test('gives up after its attempts; shows the failure', async (t) => {
  const r = recorder()
  const q = new SendQueue({ maxQueued: () => 10, attempts: () => 2, onResult: r.onResult, baseBackoffMs: 10 })
  t.teardown(() => q.close())
  q.push(async () => { throw new Error('down') })
  await settle(150)
  t.same(r.results, ['retried', 'failed'])
  t.match(q.status(), { failed: 1, failing: true, last_error: 'down' })
})

t.test('bounded: a full queue drops new notices, and counts them', async (t) => {
  const r = recorder()
  const q = new SendQueue({ maxQueued: () => 3, attempts: () => 1, onResult: r.onResult })
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const sent: number[] = []
  // the first is taken out and held: three more fill the queue
  for (let i = 0; i < 10; i++) t.equal(q.push(async () => { await gate; sent.push(i) }), i < 4, `push ${i}`)
  t.equal(q.status().queued, 3)
  t.equal(q.status().dropped, 6)
  release()
  await settle(50)
  t.same(sent, [0, 1, 2, 3], 'in order, one at a time')
  t.equal(r.results.filter((x) => x === 'sent').length, 4)
  q.close()
})

t.test('a notice waiting for its retry does not hold up a new one', async (t) => {
  const q = new SendQueue({ maxQueued: () => 10, attempts: () => 3, onResult: () => {}, baseBackoffMs: 10_000 })
  t.teardown(() => q.close())
  const order: string[] = []
  q.push(async () => { order.push('failing'); throw new Error('no') })
  await settle(20)
  q.push(async () => { order.push('next') })
  await settle(20)
  t.same(order, ['failing', 'next'])
  t.equal(q.status().queued, 1, 'the failing one waits for its backoff')
  t.equal(q.close(), 1, 'closing drops it')
  t.equal(q.status().dropped, 1)
})
