import t, { type Test } from 'tap'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { startHostileDns, type HostileDns } from './hostile-server.js'

// The mail-server rules fed a hostile name server's answers, many at once, every request
// naming a subdomain of its own: the process stays responsive (the admin listener's /health
// answers within 100 ms throughout) and each such address gets on_error's outcome. The reader
// that searched the CNAME chain round after round froze every listener for minutes on the first
// 64 KiB answer.

const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const body = (email: string): string => JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 })

async function setup (t: Test, dnsSettings: Record<string, unknown>, onError: 'deny' | 'allow' = 'deny') {
  const dns = await startHostileDns(t, { slowByteMs: 5 })
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, {
    dns: { servers: [dns.address], timeout_ms: 800, ...dnsSettings },
    register: { policy: { allowed: true, threepid: { email: { mx: { require: true, on_error: onError } } } } }
  })
  return { dns, hs, rg }
}

/** Asks /health every few milliseconds until stopped; the slowest answer's time. */
function watchHealth (adminUrl: string): { stop: () => Promise<{ worst: number, asked: number }> } {
  let running = true
  let worst = 0
  let asked = 0
  const loop = (async () => {
    while (running) {
      const t0 = performance.now()
      const r = await request(`${adminUrl}/health`)
      await r.body.text()
      if (r.statusCode !== 200) throw new Error(`/health answered ${r.statusCode}`)
      worst = Math.max(worst, performance.now() - t0)
      asked++
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()
  return { stop: async () => { running = false; await loop; return { worst, asked } } }
}

async function flood (port: number, emails: string[], concurrency: number): Promise<number[]> {
  const statuses: number[] = []
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < emails.length) {
      const email = emails[next++] as string
      statuses.push((await rawPost(port, TOKEN, body(email))).status)
    }
  }))
  return statuses
}

const countTcp = (dns: HostileDns, zone: string): number => dns.queries.filter((q) => q.tcp && q.name.endsWith(zone)).length

t.test('/health answers within 100 ms while hostile answers are read', async (t) => {
  const { dns, hs, rg } = await setup(t, { max_lookups: 0, max_lookups_per_client: 0 })
  const emails: string[] = []
  for (let i = 0; i < 24; i++) for (const zone of ['chain', 'mid', 'huge', 'long', 'slow']) emails.push(`u${i}@s${i}.${zone}.evil`)
  // the same subdomain again and again: its failure is remembered, not asked for again
  for (let i = 0; i < 24; i++) emails.push('again@same.mid.evil')
  // the first lookup loads the DNS client and the first decision the history's writer (compiled
  // on the fly under the test runner): a cost of starting, not of any answer
  await rawPost(rg.port, TOKEN, body('warm@warm.long.evil'))
  await rg.app.context.audit.flush()
  // a full collection now rather than one owed to start-up falling inside the watch
  ;(globalThis as { gc?: () => void }).gc?.()
  const health = watchHealth(rg.adminUrl)
  const statuses = await flood(rg.port, emails, 8)
  const { worst, asked } = await health.stop()
  t.ok(asked > 20, `/health was asked throughout (${asked} times)`)
  t.ok(worst < 100, `the slowest /health took ${worst.toFixed(1)} ms`)
  t.same([...new Set(statuses)], [503], 'every address: on_error deny, a temporary refusal')
  t.equal(hs.receivedMatching('requestToken').length, 0, 'nothing reached the homeserver')
  t.ok(countTcp(dns, '.chain.evil') >= 24 && countTcp(dns, '.mid.evil') >= 24 && countTcp(dns, '.huge.evil') >= 24, 'the 64 KiB answers were fetched over TCP and read')
  t.ok(dns.chainLinks > 0)
  t.equal(dns.queries.filter((q) => q.name === 'same.mid.evil' && !q.tcp).length, 1, 'a failure is kept for dns.failure_ttl_ms')
  const reasons = rg.logs.filter((l) => l.msg === 'policy decision' && l.rule === 'mx_error').map((l) => String(l.detail))
  t.ok(reasons.some((d) => /CNAME chain of more than 16 links/.test(d)), 'a long chain is a failure')
  t.ok(reasons.some((d) => /answer of more than \d+ records/.test(d)), 'a huge answer is a failure')
  t.ok(reasons.some((d) => /timeout/.test(d)), 'a slow answer times out')
})

t.test('dns.max_lookups_per_client: a client past it gets on_error at once, DNS is not asked', async (t) => {
  const { dns, rg } = await setup(t, { max_lookups: 0, max_lookups_per_client: 2 })
  const started = Date.now()
  const emails = Array.from({ length: 10 }, (_, i) => `a@p${i}.slow.evil`)
  const statuses = await flood(rg.port, emails, 10)
  t.same([...new Set(statuses)], [503])
  t.ok(dns.maxOpenTcp() <= 2, `at most two lookups at the name server at once (${dns.maxOpenTcp()})`)
  t.ok(countTcp(dns, '.slow.evil') <= 2 + 2, 'the others were not made')
  t.ok(Date.now() - started < 3000)
  const metrics = await (await request(`${rg.adminUrl}/metrics`)).body.text()
  const over = /regguard_mx_lookups_total\{result="over_cap"\} (\d+)/.exec(metrics)
  t.ok(over !== null && Number(over[1]) >= 6, `counted: ${over?.[1]}`)
  const detail = rg.logs.filter((l) => l.msg === 'policy decision').map((l) => l.detail)
  t.ok(detail.includes('mail servers could not be looked up: too many DNS lookups at once'), 'logged as a failed lookup')
})

t.test('dns.max_lookups: the cap in all holds across clients', async (t) => {
  const { dns, rg } = await setup(t, { max_lookups: 3, max_lookups_per_client: 0 })
  const statuses = await flood(rg.port, Array.from({ length: 12 }, (_, i) => `a@g${i}.slow.evil`), 12)
  t.same([...new Set(statuses)], [503])
  t.ok(dns.maxOpenTcp() <= 3, `at most three lookups at once (${dns.maxOpenTcp()})`)
})

t.test('over the cap with on_error allow: the other rules decide, as on a timeout', async (t) => {
  const { hs, rg } = await setup(t, { max_lookups: 1, max_lookups_per_client: 0 }, 'allow')
  const statuses = await flood(rg.port, ['a@one.slow.evil', 'b@two.slow.evil'], 2)
  t.same(statuses.sort(), [200, 200], 'a timeout and an over-cap lookup both skip the mail-server rules')
  t.equal(hs.receivedMatching('requestToken').length, 2)
})
