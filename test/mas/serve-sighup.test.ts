import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { freePort, runCli } from '../helpers/cli-process.js'
import { startListServer } from '../helpers/list-server.js'
import { emailAllowed } from '../helpers/mas-policy.js'
import { masStandin } from '../helpers/mas-standin.js'

// The real `regguard serve` as a MAS feeder (server.enabled: false): it pushes at start, after a
// SIGHUP that brings a changed live list, and not after a SIGHUP that changes nothing.

t.setTimeout(120_000)

t.test('regguard serve feeds MAS: at start, after SIGHUP with a changed list, not after SIGHUP with none', async (t) => {
  const mas = await masStandin({ clientId: 'regguard', clientSecret: 's3cret' })
  t.teardown(() => mas.close())
  const lists = await startListServer(t)
  lists.serve('/disposable.conf', { body: 'mailinator.com\n', etag: '"v1"' })
  const dir = t.testdir({})
  const adminPort = await freePort()
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, [
    'server: { enabled: false }',
    `admin: { host: 127.0.0.1, port: ${adminPort} }`,
    `storage: { url: "sqlite://${join(dir, 'rg.sqlite')}" }`,
    `lists: { cache_dir: "${join(dir, 'lists')}" }`,
    'register:',
    '  policy:',
    '    allowed: true',
    '    invite: false',
    '    require_3pid: true',
    `    threepid: { email: { domain: { blacklist_urls: ["${lists.url('/disposable.conf')}"] } } }`,
    `mas: { url: "${mas.url}", client_id: regguard, client_secret: s3cret, state_file: "${join(dir, 'mas.json')}" }`
  ].join('\n') + '\n')
  const cli = runCli(t, ['serve', '--config', file])
  const listening = await cli.waitForLog((l) => l.msg === 'regguard listening')
  t.equal(listening.proxy, null, 'no gate listener')
  await cli.waitForLog((l) => l.msg === 'policy data pushed to MAS')
  t.equal(mas.pushes.length, 1)
  t.notOk(emailAllowed(mas.merged(), 'x@MAILINATOR.com'))
  t.ok(emailAllowed(mas.merged(), 'x@yopmail.com'))

  lists.serve('/disposable.conf', { body: 'mailinator.com\nyopmail.com\n', etag: '"v2"' })
  cli.child.kill('SIGHUP')
  await cli.waitForLog((l) => l.msg === 'policy data pushed to MAS' && mas.pushes.length === 2, 30_000)
  t.notOk(emailAllowed(mas.merged(), 'x@YopMail.Com'), 'the list\'s new entry is in MAS')

  const before = lists.requestsFor('/disposable.conf').length
  cli.child.kill('SIGHUP')
  await cli.waitForLog(() => lists.requestsFor('/disposable.conf').length > before && cli.logs.filter((l) => l.msg === 'configuration reloaded').length === 2, 30_000)
  // the feeder looks at the lists' copies every few seconds: long enough for two looks
  await new Promise((resolve) => setTimeout(resolve, 12_000))
  t.equal(mas.pushes.length, 2, 'nothing changed: nothing pushed')
  const ready = await (await fetch(`http://127.0.0.1:${adminPort}/ready`)).json() as { mas: { last_result: string, accepted_hash: string, document_hash: string } }
  t.equal(ready.mas.accepted_hash, ready.mas.document_hash)
  cli.child.kill('SIGTERM')
  t.equal(await cli.exited, 0)
})
