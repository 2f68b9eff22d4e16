import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { startHomeserver, type Homeserver } from '../helpers/homeserver.js'
import { startRegguard, type Started } from '../helpers/regguard.js'
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js'
import { eventually, sleep } from '../invites/helpers.js'
import { requestEmailToken } from '../helpers/register.js'
import { safeWindow } from '../bypass/helpers.js'
import { dropSchema, PG_URL } from './backends.js'

// The rate-limit counter going away (Redis, or the shared store when rate_limit.shared), through
// a relay the test cuts, freezes and restores. Rate limiting is not a decision that needs the
// store: a request the counter cannot count goes on unlimited, at once (within
// register.rate_limit.timeout_ms), and counting resumes by itself when the counter is back.

t.setTimeout(120_000)

const TOKEN_PATH = '/register/email/requestToken'
const TIMEOUT_MS = 300
const REDIS_PORT = 6379

interface Sharing { name: string, target: number, config: (t: Test, relay: TcpRelay) => Record<string, unknown> }

const SHARINGS: Sharing[] = [
  { name: 'Redis (rate_limit.redis_url)', target: REDIS_PORT, config: (_t, relay) => ({ rate_limit: { redis_url: `redis://127.0.0.1:${relay.port}` } }) },
  {
    name: 'the shared store (rate_limit.shared, PostgreSQL)',
    target: Number(new URL(PG_URL).port || 5432),
    config: (t, relay) => {
      const schema = `rg_outage_rl_${process.pid}_${randomBytes(4).toString('hex')}`
      t.teardown(() => dropSchema(schema))
      const u = new URL(PG_URL)
      u.port = String(relay.port)
      return { rate_limit: { shared: true }, storage: { url: `${u.toString()}?schema=${schema}`, timeout_ms: TIMEOUT_MS } }
    }
  }
]

function config (sharing: Record<string, unknown>): Record<string, unknown> {
  const { rate_limit: rl, storage } = sharing as { rate_limit: Record<string, unknown>, storage?: unknown }
  return {
    ...(storage !== undefined ? { storage } : {}),
    register: {
      // the lists allow everything: only the limit can refuse
      policy: { allowed: true },
      rate_limit: { enabled: true, per_ip: { max: 0, window: 60_000 }, per_address: { max: 2, window: safeWindow() }, timeout_ms: TIMEOUT_MS, ...rl }
    }
  }
}

const arrivals = (hs: Homeserver): number => hs.receivedMatching(TOKEN_PATH).length

/** Three requests for one fresh address: the statuses, and how long the slowest took. */
async function three (rg: Started): Promise<{ statuses: number[], slowest: number }> {
  const email = `rl-${randomBytes(6).toString('hex')}@example.org`
  const statuses: number[] = []
  let slowest = 0
  for (let i = 0; i < 3; i++) {
    const started = Date.now()
    statuses.push((await requestEmailToken(rg.port, email, `cs${i}`)).status)
    slowest = Math.max(slowest, Date.now() - started)
  }
  return { statuses, slowest }
}

for (const sharing of SHARINGS) {
  t.test(`${sharing.name} cut, frozen and restored: no crash, no stall, counting resumes`, async (t) => {
    const hs = await startHomeserver(t)
    const relay = await startTcpRelay(t, sharing.target)
    const rg = await startRegguard(t, hs.url, config(sharing.config(t, relay)))
    t.same((await three(rg)).statuses, [200, 200, 429], 'counting before the outage')

    relay.cut()
    await sleep(50)
    const before = arrivals(hs)
    const cut = await three(rg)
    t.same(cut.statuses, [200, 200, 200], 'cut: not counted, so not limited')
    t.equal(arrivals(hs), before + 3, 'and forwarded')
    t.ok(cut.slowest < TIMEOUT_MS + 700, `cut: no request stalled (slowest ${cut.slowest} ms)`)
    t.ok(rg.logs.some((l) => /rate-limit counter failed|store unavailable|Redis unavailable/.test(String(l.msg))), 'the failure is logged')

    relay.restore()
    const resumed = await eventually(async () => {
      const r = await three(rg)
      return r.statuses[2] === 429 ? r : undefined
    }, 10_000)
    t.same(resumed?.statuses, [200, 200, 429], 'counting resumes by itself after restore')

    relay.freeze()
    const frozen = await three(rg)
    t.same(frozen.statuses, [200, 200, 200], 'frozen: not counted, so not limited')
    t.ok(frozen.slowest < TIMEOUT_MS + 700, `frozen: each waited about rate_limit.timeout_ms at most (slowest ${frozen.slowest} ms)`)
    t.ok(frozen.slowest >= TIMEOUT_MS - 50, 'and it did wait for the counter')
    relay.restore()
    const again = await eventually(async () => {
      const r = await three(rg)
      return r.statuses[2] === 429 ? r : undefined
    }, 10_000)
    t.same(again?.statuses, [200, 200, 429], 'counting resumes after the silence too')
  })
}
