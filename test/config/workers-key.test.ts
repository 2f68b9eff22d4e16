import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/load.js'
import { restartDelay } from '../../src/cluster/primary.js'

// server.workers: one process unless asked; a whole number of at least 1, from the file or the
// environment; and how long a crashing worker waits before it is started again.

t.test('default 1, and from the environment', async (t) => {
  t.equal(loadConfig({ env: {} }).settings.server.workers, 1)
  t.equal(loadConfig({ env: { REGGUARD_SERVER_WORKERS: '4' } }).settings.server.workers, 4)
})

for (const bad of [0, -2, 1.5, 'many']) {
  t.test(`server.workers: ${JSON.stringify(bad)} is refused, naming the key`, async (t) => {
    let err: unknown = null
    try { loadConfig({ object: { server: { workers: bad } }, env: {} }) } catch (e) { err = e }
    t.ok(err instanceof ConfigError)
    t.match((err as Error).message, 'server.workers')
  })
}

t.test('a worker that dies soon after starting waits longer each time, at most 30 s', async (t) => {
  t.same([0, 1, 2, 3, 6, 7, 20].map(restartDelay), [0, 500, 1000, 2000, 16000, 30000, 30000])
})
