import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// One configuration for the whole request: a reload while a requestToken waits for the homeserver
// applies to the next request, never to the rest of this one (its session is recorded with the
// session_ttl it started with).

const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const DAY = 24 * 3600 * 1000

t.test('a reload during a requestToken does not change how its session is recorded', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond(() => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"sid":"snap"}', delayMs: 600 }))
  const rg = await startRegguard(t, hs.url, { register: { policy: { allowed: true }, session_ttl: DAY } })
  const pending = rawPost(rg.port, TOKEN, JSON.stringify({ client_secret: 'snapshot', email: 'alice@example.org', send_attempt: 1 }), { 'Content-Type': 'application/json' })
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(hs.receivedMatching('/requestToken').length, 1, 'the request is at the homeserver when the reload comes')
  rg.app.reconfigure(loadConfig({
    object: { homeserver: { url: hs.url }, storage: { url: rg.config.settings.storage.url }, register: { policy: { allowed: true }, session_ttl: 1000, rate_limit: { enabled: false } } },
    env: {}
  }))
  const res = await pending
  t.equal(res.status, 200)
  const session = await rg.app.context.store.sessions.get('snapshot', 'snap', Date.now())
  t.ok(session !== null, 'the session was recorded')
  t.ok((session?.expires_at ?? 0) > Date.now() + DAY - 60_000, 'with the session_ttl in force when the request began (24 hours), not the reloaded one (1 s)')
})
