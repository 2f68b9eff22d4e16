import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { freePort, runCli } from '../helpers/cli-process.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'

// SIGHUP re-reads the config file and its list files; a bad file is refused, logged and counted,
// the old configuration stays; a request in flight is not disturbed.

t.setTimeout(120_000)
const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const body = (email: string): string => JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 })

t.test('SIGHUP reloads config and lists; a bad config is refused and counted', async (t) => {
  const hs = await startHomeserver(t)
  hs.respond((r) => ({ status: 200, body: '{"sid":"x"}', delayMs: r.url.includes('slow') ? 1500 : 0 }))
  const dir = mkdtempSync(join(tmpdir(), 'regguard-reload-'))
  const [port, adminPort] = [await freePort(), await freePort()]
  const config = (extra: string): string => [
    `server: { host: 127.0.0.1, port: ${port} }`,
    `admin: { host: 127.0.0.1, port: ${adminPort} }`,
    `homeserver: { url: "${hs.url}" }`,
    `storage: { url: "sqlite://${join(dir, 'rg.sqlite')}" }`,
    'register:',
    '  rate_limit: { enabled: false }',
    '  policy:',
    '    allowed: true',
    '    threepid: { email: { domain: { blacklist_files: [lists.txt] } } }',
    extra
  ].join('\n') + '\n'
  const file = join(dir, 'regguard.yaml')
  writeFileSync(join(dir, 'lists.txt'), '# nothing yet\n')
  writeFileSync(file, config(''))
  const cli = runCli(t, ['--config', file])
  await cli.waitForLog((l) => l.msg === 'regguard listening')

  t.equal((await rawPost(port, TOKEN, body('a@blocked.example'))).status, 200, 'allowed before the reload')
  writeFileSync(join(dir, 'lists.txt'), 'blocked.example\n')
  const slow = rawPost(port, `${TOKEN}?slow`, body('b@fine.example'))
  await new Promise((resolve) => setTimeout(resolve, 300))
  cli.child.kill('SIGHUP')
  await cli.waitForLog((l) => l.msg === 'configuration reloaded')
  t.equal((await rawPost(port, TOKEN, body('a@blocked.example'))).status, 403, 'the list file was re-read')
  t.equal((await slow).status, 200, 'the request in flight during the reload completed')

  writeFileSync(file, config('  unknown_key: 1'))
  cli.child.kill('SIGHUP')
  const refused = await cli.waitForLog((l) => l.msg === 'configuration reload refused; the previous configuration stays in force')
  t.match(String(refused.err), /unknown_key/, 'the log names the offending key')
  t.equal((await rawPost(port, TOKEN, body('a@blocked.example'))).status, 403, 'the previous configuration stays in force')
  t.equal((await rawPost(port, TOKEN, body('c@fine.example'))).status, 200)

  const metrics = await (await request(`http://127.0.0.1:${adminPort}/metrics`)).body.text()
  t.match(metrics, /regguard_config_reloads_total\{result="ok"\} 1/)
  t.match(metrics, /regguard_config_reloads_total\{result="refused"\} 1/)
  cli.child.kill('SIGTERM')
  t.equal(await cli.exited, 0)
})
