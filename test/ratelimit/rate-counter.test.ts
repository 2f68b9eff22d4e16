import t from 'tap'
import { MemoryCounter } from '../../src/ratelimit/counter.js'
import { checkLimit } from '../../src/ratelimit/limiter.js'
import { RedisCounter } from '../../src/ratelimit/redis-counter.js'

for (const [name, make] of [
  ['memory', () => new MemoryCounter()],
  ['redis', () => new RedisCounter('redis://127.0.0.1:6379')]
] as const) {
  t.test(`${name}: fixed windows, retry after the window's end`, async (t) => {
    const counter = make()
    t.teardown(() => counter.close?.())
    const key = `test-${process.pid}-${Math.random()}`
    const limit = { max: 2, windowMs: 1000 }
    const base = 1_000_000_000_000
    t.same(await checkLimit(counter, key, limit, base + 100), { ok: true })
    t.same(await checkLimit(counter, key, limit, base + 200), { ok: true })
    t.same(await checkLimit(counter, key, limit, base + 300), { ok: false, retryAfterMs: 700 })
    t.same(await checkLimit(counter, key, limit, base + 1100), { ok: true }, 'a new window starts afresh')
    t.same(await checkLimit(counter, 'other' + key, limit, base + 300), { ok: true }, 'keys are separate')
    t.same(await checkLimit(counter, key, { max: 0, windowMs: 1000 }, base), { ok: true }, 'max 0 turns the limit off')
  })
}
