import t from 'tap'
import { connect } from 'node:net'
import { startHomeserver } from '../helpers/homeserver.js'
import { startRegguard } from '../helpers/regguard.js'
import { rawPost } from '../helpers/raw-http.js'

// A client that goes away while its request waits for a homeserver connection (or before the
// answer's headers) must not leave that connection held: the answer arriving for nobody has to
// be dropped, not left paused until homeserver.timeout_ms. Otherwise clients that send and hang
// up can hold every registration connection for a minute each.

const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const body = (n: number): string => JSON.stringify({ client_secret: `secret${n}`, email: `user${n}@allowed.example`, send_attempt: 1 })
const policy = { allowed: false, invite: false, threepid: { email: { domain: { whitelist: ['allowed.example'] } } } }

t.test('requests whose clients hung up while queued do not hold the only registration connection', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond((r) => r.url.includes('requestToken') ? { status: 200, body: JSON.stringify({ sid: 'x'.repeat(4096) }), delayMs: 200 } : undefined)
  const rg = await startRegguard(t, hs.url, { homeserver: { registration_connections: 1, timeout_ms: 60_000 }, register: { policy } })
  // the first takes the one connection for 200 ms; the next ones queue behind it and hang up
  const first = rawPost(rg.port, TOKEN, body(0))
  for (let n = 1; n <= 4; n++) {
    const s = connect(rg.port, '127.0.0.1')
    const b = body(n)
    s.write(`POST ${TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Length: ${b.length}\r\n\r\n${b}`)
    setTimeout(() => s.destroy(), 50)
  }
  t.equal((await first).status, 200)
  await new Promise((resolve) => setTimeout(resolve, 300))
  // each hung-up request costs at most its own 200 ms at the homeserver, not a minute
  // (rawPost gives up after 3 s; the homeserver timeout is 60 s)
  t.equal((await rawPost(rg.port, TOKEN, body(9))).status, 200, 'the next request is answered at once')
})
