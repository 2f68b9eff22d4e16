import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/load.js'

// notify.* and register.approval.* as the loader reads them: defaults off, the enumerations and
// the formats refused with the key named.

t.test('defaults: nothing is sent, nothing is asked', async (t) => {
  const { settings } = loadConfig({ object: {}, env: {} })
  t.equal(settings.register.approval.enabled, false)
  t.equal(settings.notify.smtp.host, '')
  t.equal(settings.notify.matrix.room_id, '')
  t.equal(settings.notify.webhook, '')
  t.equal(settings.notify.denials, false)
  t.equal(settings.notify.smtp.tls, 'starttls')
})

t.test('bad values are refused, naming the key', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ notify: { smtp: { tls: 'ssl' } } }, /notify\.smtp\.tls/],
    [{ notify: { matrix: { room_id: '#ops:example.org' } } }, /notify\.matrix\.room_id/],
    [{ notify: { webhook: 'ftp://example.org/hook' } }, /notify\.webhook/],
    [{ register: { approval: { ttl: 0 } } }, /register\.approval\.ttl/],
    [{ register: { approval: { per_hour: -1 } } }, /register\.approval\.per_hour/]
  ]
  for (const [object, key] of cases) {
    let caught: unknown = null
    try { loadConfig({ object, env: {} }) } catch (err) { caught = err }
    t.ok(caught instanceof ConfigError, `${JSON.stringify(object)} refused`)
    t.match((caught as Error | null)?.message, key)
  }
})

t.test('durations and environment overrides', async (t) => {
  const { settings } = loadConfig({ object: { register: { approval: { ttl: '2 days' } } }, env: { REGGUARD_NOTIFY_SMTP_TLS: 'none', REGGUARD_REGISTER_APPROVAL_ENABLED: 'true' } })
  t.equal(settings.register.approval.ttl, 2 * 86_400_000)
  t.equal(settings.notify.smtp.tls, 'none')
  t.equal(settings.register.approval.enabled, true)
})
