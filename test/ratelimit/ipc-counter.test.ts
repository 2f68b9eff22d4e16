import type { Serializable } from 'node:child_process'
import { EventEmitter } from 'node:events'
import t from 'tap'
import { MemoryCounter } from '../../src/ratelimit/counter.js'
import { countForWorker, IpcCounter } from '../../src/ratelimit/ipc-counter.js'

// The workers' rate-limit counts, asked of the primary over IPC: here both ends of the channel
// are in one process, joined as node:cluster joins them (messages arrive asynchronously,
// structured-cloned as JSON).

/** A worker's `process` and the primary's `Worker` for it, wired to each other. */
function channelPair (): { toPrimary: EventEmitter & { connected: boolean, send: (m: Serializable, cb: (err: Error | null) => void) => boolean }, toWorker: EventEmitter & { isConnected: () => boolean, send: (m: Serializable, cb: (err: Error | null) => void) => boolean } } {
  const toPrimary = Object.assign(new EventEmitter(), {
    connected: true,
    send (m: Serializable, cb: (err: Error | null) => void): boolean {
      setImmediate(() => { toWorker.emit('message', JSON.parse(JSON.stringify(m))); cb(null) })
      return true
    }
  })
  const toWorker = Object.assign(new EventEmitter(), {
    isConnected: () => toPrimary.connected,
    send (m: Serializable, cb: (err: Error | null) => void): boolean {
      setImmediate(() => { toPrimary.emit('message', JSON.parse(JSON.stringify(m))); cb(null) })
      return true
    }
  })
  return { toPrimary, toWorker }
}

t.test('two workers count in the primary\'s one counter', async (t) => {
  const shared = new MemoryCounter()
  const a = channelPair()
  const b = channelPair()
  countForWorker(a.toWorker, shared)
  countForWorker(b.toWorker, shared)
  const ca = new IpcCounter(a.toPrimary, () => 1000)
  const cb = new IpcCounter(b.toPrimary, () => 1000)
  let messages = 0
  a.toWorker.on('message', () => { messages++ })
  const now = Date.now()
  const counts = await Promise.all([ca.hit('k', 60_000, now), cb.hit('k', 60_000, now), ca.hit('k', 60_000, now), cb.hit('other', 60_000, now)])
  t.same(counts.slice(0, 3).sort(), [1, 2, 3], 'one sequence for both workers')
  t.equal(counts[3], 1, 'keys apart')
  t.equal(messages, 1, 'the hits of one event-loop turn travel in one message')
  t.equal(await ca.hit('k', 60_000, now), 4, 'and the next turn\'s in another')
  t.equal(messages, 2)
  await ca.close()
  await cb.close()
})

t.test('a primary that does not answer: the hit fails at the timeout (the request is then not limited)', async (t) => {
  const { toPrimary } = channelPair()
  // nobody counts on the other end
  const counter = new IpcCounter(toPrimary, () => 50)
  const started = Date.now()
  await t.rejects(counter.hit('k', 60_000, started), /no count within 50 ms/)
  t.ok(Date.now() - started >= 45, 'waited for the timeout')
})

t.test('no channel, or a counter that fails in the primary: the hit fails at once', async (t) => {
  const { toPrimary } = channelPair()
  toPrimary.connected = false
  await t.rejects(new IpcCounter(toPrimary, () => 5000).hit('k', 1000, Date.now()), /no IPC channel/)
  const p = channelPair()
  countForWorker(p.toWorker, { hit: async () => { throw new Error('boom') } })
  await t.rejects(new IpcCounter(p.toPrimary, () => 5000).hit('k', 1000, Date.now()), /boom/)
})

t.test('close fails the hits still waiting', async (t) => {
  const { toPrimary } = channelPair()
  const counter = new IpcCounter(toPrimary, () => 5000)
  const waiting = counter.hit('k', 1000, Date.now())
  await counter.close()
  await t.rejects(waiting, /closed/)
})
