import { Writable } from 'node:stream'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/log.js'
import { start } from '../../src/server.js'
import { configWarnings, deniesEverything, policySentence, reachable } from '../../src/startup-report.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../store/backends.js'

// What serve says once it listens: the policy in a sentence, and warnings for an unreachable
// homeserver, the admin API off, a policy that denies everything.

const policyOf = (policy: Record<string, unknown>) => loadConfig({ object: { register: { policy } }, env: {} })

t.test('the policy in one sentence, counting entries as written', async (t) => {
  const config = policyOf({
    allowed: false,
    invite: true,
    threepid: { email: { domain: { whitelist: ['*example.org', '.example.net', 'example.com'], blacklist: ['evil.example'] }, pattern: { blacklist: ['.*\\+spam@.*'] } } }
  })
  t.equal(policySentence(config), 'email: 1 blacklisted domain, 1 blacklist pattern, 3 whitelisted domains, default deny; msisdn: default deny; invites on')
  const ma1sd = policyOf({ allowed: true, invite: false, invite_overrides_blacklist: true })
  t.equal(policySentence(ma1sd), 'email: default allow; msisdn: default allow; invites off')
})

t.test('a policy that denies everything, the admin API off, an admin listener off loopback', async (t) => {
  const closed = policyOf({ allowed: false, invite: false })
  t.ok(deniesEverything(closed))
  t.match(configWarnings(closed), [/admin API is off/, /denies every 3PID registration/])
  t.notOk(deniesEverything(policyOf({ allowed: false, invite: true })), 'invites can let in')
  t.notOk(deniesEverything(policyOf({ allowed: false, invite: false, threepid: { msisdn: { pattern: { whitelist: ['44\\d+'] } } } })), 'a whitelist can let in')
  const open = loadConfig({ object: { admin: { host: '0.0.0.0' } }, env: {} })
  t.match(configWarnings(open), [/admin API is off/, /admin listener is on 0\.0\.0\.0, not loopback, without admin\.token/])
  t.same(configWarnings(loadConfig({ object: { admin: { token: 'x'.repeat(32) }, register: { policy: { allowed: true } } }, env: {} })), [], 'nothing to say')
})

t.test('reachable: a listening port, and a closed one', async (t) => {
  const hs = await startHomeserver(t)
  t.equal(await reachable(hs.url), null)
  t.equal(await reachable(`http://127.0.0.1:${await freePort()}`), 'ECONNREFUSED')
  t.equal(hs.received.length, 0, 'no HTTP request is made')
})

t.test('serve logs the sentence and the warnings once it listens', async (t) => {
  const dir = tempDir(t)
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger('info', new Writable({ write (chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>); cb() } }))
  const config = loadConfig({
    object: {
      server: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      homeserver: { url: `http://127.0.0.1:${await freePort()}` },
      storage: { url: `sqlite://${dir}/rg.sqlite` },
      register: { policy: { allowed: false, invite: false } }
    },
    env: {}
  })
  const running = await start(config, logger)
  t.teardown(() => running.shutdown())
  const deadline = Date.now() + 10_000
  while (!lines.some((l) => String(l.msg).startsWith('the homeserver at')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  const msgs = lines.map((l) => String(l.msg))
  t.ok(msgs.includes('policy in force: email: default deny; msisdn: default deny; invites off'), msgs.join('\n'))
  t.ok(lines.some((l) => l.level === 40 && String(l.msg).startsWith('the admin API is off')))
  t.ok(lines.some((l) => l.level === 40 && String(l.msg).startsWith('the policy denies every 3PID registration')))
  t.ok(lines.some((l) => l.level === 40 && l.failure === 'ECONNREFUSED' && String(l.msg).includes('cannot be reached')), 'the homeserver warning')
})
