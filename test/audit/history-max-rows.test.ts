import t from 'tap'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// A flood of unique denials (rate limits off, as behind a botnet's many addresses) fills the
// history only up to audit.max_rows: the oldest rows go first, counted in the metrics and shown
// on /ready.

const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const FLOOD = 3000
const MAX_ROWS = 500

t.test('audit.max_rows bounds the history through a flood of unique denials', async (t) => {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { register: { policy: { allowed: false } }, audit: { max_rows: MAX_ROWS } })
  let next = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < FLOOD) {
      const i = next++
      const r = await rawPost(rg.port, TOKEN, JSON.stringify({ client_secret: 'cs', email: `u${i}@flood.example`, send_attempt: 1 }))
      if (r.status !== 403) throw new Error(`answered ${r.status}`)
    }
  }))
  await rg.app.context.audit.flush()
  const rows: number[] = []
  let from: string | undefined
  do {
    const page = await rg.app.context.store.decisions.list({ limit: 500, from })
    rows.push(...page.decisions.map((d) => d.count))
    from = page.next
  } while (from !== undefined)
  t.ok(rows.length <= MAX_ROWS, `${rows.length} rows kept`)
  const kept = rows.reduce((a, b) => a + b, 0)
  const ready = await request(`${rg.adminUrl}/ready`)
  const body = await ready.body.json() as { history?: { dropped: number, dropped_by: Record<string, number> } }
  t.equal(body.history?.dropped_by.max_rows, FLOOD - kept, '/ready shows every decision dropped for the bound')
  const metrics = await (await request(`${rg.adminUrl}/metrics`)).body.text()
  t.match(metrics, new RegExp(`regguard_decision_history_dropped_total\\{reason="max_rows"\\} ${FLOOD - kept}\\b`))
  t.equal(hs.receivedMatching('requestToken').length, 0, 'every one denied before the homeserver')
})
