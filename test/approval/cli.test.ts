import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runCommand } from '../helpers/cli-process.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { requestEmailToken } from '../helpers/register.js'
import { startRegguard } from '../helpers/regguard.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { tempDir } from '../store/backends.js'

// `regguard requests list|approve|reject` (in-process, as the command runs them) on the store a
// running regguard shares: the requests it recorded are listed, an approval made here opens the
// address there and mails the applicant.

t.test('list, approve (with mail), reject', async (t) => {
  const dir = tempDir(t)
  const url = `sqlite://${join(dir, 'regguard.sqlite')}`
  const smtp = await startSmtpSink(t)
  const settings = {
    storage: { url },
    register: { approval: { enabled: true, link: 'https://chat.example.org/#/register', approved_text: 'Welcome aboard.' } },
    notify: { smtp: { host: smtp.host, port: smtp.port, tls: 'none' } }
  }
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, JSON.stringify(settings))
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, settings)
  await requestEmailToken(rg.port, 'first@example.net', 'a')
  await requestEmailToken(rg.port, 'second@example.net', 'b')

  const listed = await runCommand(['requests', 'list', '--config', file])
  t.equal(listed.code, 0, listed.stderr)
  const lines = listed.stdout.trim().split('\n').map((l) => l.split('\t'))
  t.equal(lines.length, 2)
  t.same(lines.map((l) => [l[1], l[3]]), [['pending', 'second@example.net'], ['pending', 'first@example.net']], 'newest first')
  const firstId = lines[1]?.[0] as string
  const secondId = lines[0]?.[0] as string

  const approved = await runCommand(['requests', 'approve', '--config', file, firstId, '@op:example.org'])
  t.equal(approved.code, 0, approved.stderr)
  t.match(approved.stdout, new RegExp(`^approved ${firstId}: invite \\d+ for email first@example\\.net; the applicant was mailed\\n$`))
  const mail = await smtp.waitFor(1)
  t.same(mail.to, ['first@example.net'])
  t.match(mail.data, /Welcome aboard\.\r?\n\r?\nhttps:\/\/chat\.example\.org\/#\/register/)

  // the running regguard sees the invite: the address is let through
  t.equal((await requestEmailToken(rg.port, 'first@example.net', 'c')).status, 200)

  const rejected = await runCommand(['requests', 'reject', '--config', file, secondId, 'not one of us'])
  t.equal(rejected.code, 0, rejected.stderr)
  t.equal(rejected.stdout, `rejected ${secondId}: email second@example.net\n`)
  const again = await runCommand(['requests', 'reject', '--config', file, secondId])
  t.equal(again.code, 3)
  t.match(again.stderr, /is not pending \(it is rejected\)/)

  const onlyRejected = await runCommand(['requests', 'list', '--config', file, 'rejected'])
  t.match(onlyRejected.stdout, /\trejected\temail\tsecond@example\.net\t.*\tnot one of us\n$/)
  t.equal((await runCommand(['requests', 'approve', '--config', file, '999'])).code, 3)
  const usage = await runCommand(['requests', 'frob', '--config', file])
  t.equal(usage.code, 2)
  t.match(usage.stderr, /requests needs: list, approve or reject\nsee: regguard requests --help\n$/)
})
