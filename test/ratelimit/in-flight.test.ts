import t from 'tap'
import { InFlight } from '../../src/ratelimit/in-flight.js'

t.test('counts up to the cap, then refuses without counting', async (t) => {
  const f = new InFlight()
  t.ok(f.enter('a', 2))
  t.ok(f.enter('a', 2))
  t.notOk(f.enter('a', 2), 'the third is refused')
  t.equal(f.count('a'), 2, 'a refusal is not counted')
  t.ok(f.enter('b', 2), 'another client has its own count')
  f.leave('a')
  t.ok(f.enter('a', 2), 'room again once one ended')
})

t.test('entries go when their count reaches zero', async (t) => {
  const f = new InFlight()
  for (let i = 0; i < 1000; i++) f.enter(`c${i}`, 4)
  t.equal(f.clients, 1000)
  for (let i = 0; i < 1000; i++) f.leave(`c${i}`)
  t.equal(f.clients, 0, 'no entry left behind')
  f.leave('never-entered')
  t.equal(f.count('never-entered'), 0, 'an extra leave does not go negative')
  t.equal(f.clients, 0)
})
