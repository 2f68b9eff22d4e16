import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/log.js'
import { Metrics } from '../../src/metrics.js'
import { Notifier, noticeText } from '../../src/notify/notifier.js'

// The notifier on its own: a send under way is aborted when it closes (none outlives the app),
// and the room's text says what happened.

const quiet = createLogger('silent', new Writable({ write (_c, _e, cb) { cb() } }))

t.test('close aborts a send the receiver never answers', async (t) => {
  const arrived: IncomingMessage[] = []
  const server = createServer((req) => { arrived.push(req) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  const { settings } = loadConfig({ object: { notify: { webhook: url, timeout_ms: 60_000 } }, env: {} })
  const metrics = new Metrics({ processMetrics: false })
  const n = new Notifier({ settings: () => settings.notify, homeserverUrl: () => 'http://127.0.0.1:1', log: quiet, metrics })
  n.accessRequested({ id: '1', medium: 'email', address: 'x', client_ip: '127.0.0.1' })
  while (arrived.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  const closed = new Promise<void>((resolve) => { arrived[0]?.socket.once('close', () => resolve()) })
  const started = Date.now()
  n.close()
  await closed
  t.ok(Date.now() - started < 2000, 'the connection went at once, not after notify.timeout_ms')
})

t.test('the room texts', async (t) => {
  t.match(noticeText({ event: 'registration', user_id: '@a:x', threepid: { medium: 'email', address: 'h@x.example' }, rule: 'invite 3 (approval)' }), 'New account @a:x registered through regguard with email h@x.example, allowed by invite 3 (approval)')
  t.match(noticeText({ event: 'registration', user_id: '@a:x', threepid: null, rule: 'r' }), '(no email or phone)')
  t.match(noticeText({ event: 'access_request', id: '9', medium: 'email', address: 'h@x', client_ip: '10.0.0.1' }), /^Access request 9: email h@x asks to join/)
  t.match(noticeText({ event: 'denial', endpoint: 'register', medium: 'msisdn', address: '44…', rule: 'blacklist', detail: 'pattern 44.*', client_ip: '10.0.0.1' }), /^Denied register requestToken for msisdn 44… by blacklist \(pattern 44\.\*\)/)
})
