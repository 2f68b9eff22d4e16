import t from 'tap'
import { sendMail } from '../../src/notify/mail.js'
import type { NotifySettings } from '../../src/notify/settings.js'
import { freePort } from '../helpers/net.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'

// The one mail, through nodemailer to the SMTP sink: authenticated when a user is set, refused
// within the timeout when nothing answers.

const smtpOf = (host: string, port: number, extra: Partial<NotifySettings['smtp']> = {}): NotifySettings['smtp'] =>
  ({ host, port, tls: 'none', user: '', password: '', from: 'regguard@example.org', timeout_ms: 3000, ...extra })

t.test('sent, with AUTH when a user is set', async (t) => {
  const sink = await startSmtpSink(t)
  await sendMail(smtpOf(sink.host, sink.port, { user: 'mailer', password: 'pw' }), { to: 'ada@example.org', subject: 'Approved', text: 'Welcome. Ünïcode too.\n' })
  const m = await sink.waitFor(1)
  t.equal(m.user, 'mailer')
  t.equal(m.from, 'regguard@example.org')
  t.same(m.to, ['ada@example.org'])
  t.match(m.data, /^Subject: Approved$/m)
  await sendMail(smtpOf(sink.host, sink.port), { to: 'bob@example.org', subject: 's', text: 't' })
  t.equal((await sink.waitFor(2)).user, null, 'no user: no AUTH')
})

t.test('nothing listening: rejected', async (t) => {
  const port = await freePort()
  await t.rejects(sendMail(smtpOf('127.0.0.1', port), { to: 'a@example.org', subject: 's', text: 't' }), /ECONNREFUSED|connect/)
})

t.test('starttls required but not offered: rejected, nothing sent', async (t) => {
  const sink = await startSmtpSink(t)
  await t.rejects(sendMail(smtpOf(sink.host, sink.port, { tls: 'starttls' }), { to: 'a@example.org', subject: 's', text: 't' }))
  t.equal(sink.mails.length, 0)
})
