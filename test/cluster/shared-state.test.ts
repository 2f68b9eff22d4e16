import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { emailStage } from '../helpers/register.js'
import { openStore } from '../../src/store/open.js'
import { BACKENDS, storageUrl } from '../store/backends.js'
import { admin, postTo, sample, startCluster, untilBothAnswered, type Answered } from '../helpers/workers.js'

// server.workers: 2, the real process tree, on a SQLite file and on PostgreSQL: what one worker
// learns, the other knows. Every request goes on a new connection, and the request log says
// which worker answered it.

t.setTimeout(180_000)

const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const REGISTER = '/_matrix/client/v3/register'
const token = (email: string, secret = 'cs'): Record<string, unknown> => ({ client_secret: secret, email, send_attempt: 1 })
const workersOf = (answers: Answered[]): Set<number> => new Set(answers.map((a) => a.worker))

const LIMIT = 4

for (const backend of BACKENDS) t.test(`${backend}: two workers share rate limits, sessions, invites, the address-hash key and the metrics`, async (t) => {
  const hs = await startHomeserver(t)
  const url = storageUrl(t, backend)
  const c = await startCluster(t, hs.url, [
    'register:',
    `  rate_limit: { per_ip: { max: 0 }, per_address: { max: ${LIMIT}, window: "1 hour" } }`,
    '  policy:',
    '    allowed: false',
    '    invite: true',
    "    threepid: { email: { domain: { whitelist: ['*example.org'] } } }"
  ], url)

  t.test('the second worker starts once the first listens (it alone migrates the store and makes the hash key)', async (t) => {
    const firstListening = c.cli.logs.findIndex((l) => l.msg === 'worker listening' && l.worker === 1)
    const secondsFirstLine = c.cli.logs.findIndex((l) => l.worker === 2 && l.primary !== true)
    t.ok(firstListening >= 0 && secondsFirstLine > firstListening, `${firstListening} < ${secondsFirstLine}`)
  })

  t.test('the per-address limit counts every worker\'s requests together', async (t) => {
    const answers: Answered[] = []
    const perWorker = (w: number): number => answers.filter((a) => a.worker === w).length
    // until each worker answered more than the limit: counted apart, each would allow LIMIT
    while (answers.length < 40 && (perWorker(1) <= LIMIT || perWorker(2) <= LIMIT)) answers.push(await postTo(c, TOKEN, token('bomb@example.org')))
    t.ok(perWorker(1) > LIMIT && perWorker(2) > LIMIT, `both workers answered more than ${LIMIT} (${perWorker(1)}, ${perWorker(2)})`)
    t.same(answers.map((a) => a.res.status), [...new Array<number>(LIMIT).fill(200), ...new Array<number>(answers.length - LIMIT).fill(429)], `exactly ${LIMIT} allowed, then 429`)
    t.equal(hs.receivedMatching('requestToken').length, LIMIT, 'the homeserver saw the allowed ones only')

    // whichever worker serves the scrape, it is the sum of both
    const limited = answers.length - LIMIT
    for (let i = 0; i < 4; i++) {
      const text = (await admin(c, 'GET', '/metrics')).body
      t.equal(sample(text, 'regguard_rate_limited_total{limit="address"}'), limited, `scrape ${i + 1}: every worker's 429s`)
      t.equal(sample(text, 'regguard_workers_reporting'), 2)
    }
  })

  t.test('a session recorded by one worker is accepted at /register by the other', async (t) => {
    const first = await postTo(c, TOKEN, token('sess@example.org', 'cs-sess'))
    t.equal(first.res.status, 200)
    const sid = (JSON.parse(first.res.body) as { sid: string }).sid
    // the session is written once the answer is on its way (on PostgreSQL a moment later); a
    // client only comes back after the mail's link, so wait until the store holds it
    const store = await openStore(url)
    t.teardown(() => store.close())
    for (let i = 0; i < 200 && await store.sessions.get('cs-sess', sid, Date.now()) === null; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    const registers = await untilBothAnswered(() => postTo(c, REGISTER, emailStage(sid, 'cs-sess')), 10)
    t.ok(registers.some((r) => r.worker !== first.worker), `a /register reached the other worker than ${first.worker}`)
    t.same(registers.map((r) => r.res.status), registers.map(() => 200), 'accepted by either worker')
    const unknown = await untilBothAnswered(() => postTo(c, REGISTER, emailStage('no-such-sid', 'cs-sess')), 10)
    t.same(unknown.map((r) => r.res.status), unknown.map(() => 403), 'a session nobody recorded is refused by either worker')
  })

  t.test('an invite added through the admin API allows on both workers at once', async (t) => {
    const before = await untilBothAnswered(() => postTo(c, TOKEN, token('other@elsewhere.net')), 4)
    t.same(before.map((a) => a.res.status), before.map(() => 403), 'an address without an invite is denied by both')
    const added = await admin(c, 'POST', '/_regguard/admin/v1/invites', { medium: 'email', address: 'guest@elsewhere.net' })
    t.equal(added.status, 201)
    let after: Answered[]
    if (backend === 'sqlite') {
      // another process's commit is seen within 5 ms (PRAGMA data_version, read at most that often)
      await new Promise((resolve) => setTimeout(resolve, 50))
      after = await untilBothAnswered(() => postTo(c, TOKEN, token('guest@elsewhere.net')), LIMIT)
      t.same(after.map((a) => a.res.status), after.map(() => 200), 'the invite allows on either worker, from the next request on')
    } else {
      // the other worker learns of it by NOTIFY, within a second (the writer at once): asked
      // again after a pause until each worker has allowed once (a loaded machine may be slower)
      after = []
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const allowedBy = (): Set<number> => workersOf(after.filter((a) => a.res.status === 200))
      while (after.length < LIMIT && allowedBy().size < 2) {
        const a = await postTo(c, TOKEN, token('guest@elsewhere.net'))
        after.push(a)
        if (a.res.status !== 200) await new Promise((resolve) => setTimeout(resolve, 1000))
      }
      t.equal(allowedBy().size, 2, `the invite allows on either worker (${after.map((a) => `${a.worker}: ${a.res.status}`).join(', ')})`)
    }
    t.equal(workersOf(after).size, 2, 'both workers answered')

    // both workers hash addresses in their logs under one key (made once, in the store)
    const hashes = c.cli.logs.filter((l) => l.msg === 'policy decision' && typeof l.address === 'string' && l.address.endsWith('@elsewhere.net') && l.decision === 'allow')
    t.equal(new Set(hashes.map((l) => l.worker)).size, 2, 'decisions logged by both workers')
    t.equal(new Set(hashes.map((l) => l.address)).size, 1, 'with the same hash of the address')
    t.notOk(hashes.some((l) => String(l.address).startsWith('guest@')), 'redacted')
  })

  t.test('SIGTERM drains every worker and ends the primary with 0', async (t) => {
    const pids = [...new Set(c.cli.logs.filter((l) => l.msg === 'regguard listening').map((l) => l.pid as number))]
    t.equal(pids.length, 2)
    c.cli.child.kill('SIGTERM')
    t.equal(await c.cli.exited, 0)
    t.same(c.cli.logs.filter((l) => l.msg === 'stopped' && l.worker !== undefined).map((l) => l.pid).sort(), pids.sort(), 'each worker stopped')
    for (const pid of pids) t.throws(() => process.kill(pid, 0), 'worker process gone')
  })
})
