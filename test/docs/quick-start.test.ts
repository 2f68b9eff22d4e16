import { spawn } from 'node:child_process'
import { copyFileSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { CLI } from '../helpers/cli-path.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../store/backends.js'

// The README's quick start as written: its command, its starter configuration (the file it
// shows), to a denied and an allowed requestToken through regguard in front of a stand-in
// homeserver. Only the ports and the homeserver's address are moved (through the environment,
// as an operator may), so the test can share the machine. test/installed/ covers the packed
// tarball installed with npm.

t.setTimeout(60_000)

const root = new URL('../../', import.meta.url)
const readme = readFileSync(new URL('README.md', root), 'utf8')

t.test('the README shows config/regguard.minimal.yaml as it is (its comment header aside), in at most about 20 lines', async (t) => {
  const file = readFileSync(new URL('config/regguard.minimal.yaml', root), 'utf8')
  const body = file.split('\n').filter((l, i, all) => !(l.startsWith('#') && all.slice(0, i).every((p) => p.startsWith('#')))).join('\n')
  const shown = /The starter configuration, \[`config\/regguard\.minimal\.yaml`\][^\n]*\n\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1]
  t.equal(shown, body, 'README block = the file')
  t.ok(body.trim().split('\n').length <= 20, `${body.trim().split('\n').length} lines`)
})

t.test('its quick-start command serves: a denied and an allowed requestToken', async (t) => {
  const command = /^node dist\/src\/cli\.js serve --config (config\/regguard\.minimal\.yaml)\b/m.exec(readme)
  t.ok(command, 'the README\'s command to run regguard from the checkout')
  t.match(readme, /^npm test\b/m, 'and the one to run the tests')
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`)
  const hs = await startHomeserver(t)
  // a working directory of its own: the starter's store is ./data/regguard.sqlite
  const dir = tempDir(t)
  copyFileSync(new URL((command as RegExpExecArray)[1] as string, root), join(dir, 'regguard.yaml'))
  const [port, adminPort] = [await freePort(), await freePort()]
  const env: NodeJS.ProcessEnv = { ...process.env, REGGUARD_SERVER_PORT: String(port), REGGUARD_ADMIN_PORT: String(adminPort), REGGUARD_HOMESERVER_URL: hs.url }
  delete env.NODE_OPTIONS
  const child = spawn(process.execPath, [CLI, 'serve', '--config', 'regguard.yaml'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`not listening: ${out.slice(-2000)} ${err.slice(-2000)}`)) }, 30_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('"msg":"regguard listening"')) { clearTimeout(timer); resolve() }
    })
  })
  const requestToken = async (email: string): Promise<{ status: number, body: Record<string, unknown> }> => {
    const res = await fetch(`http://127.0.0.1:${port}/_matrix/client/v3/register/email/requestToken`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_secret: 'quickstart', email, send_attempt: 1 })
    })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }
  const denied = await requestToken('someone@denied.example')
  t.equal(denied.status, 403)
  t.equal(denied.body.errcode, 'M_THREEPID_DENIED')
  t.equal(hs.receivedMatching('requestToken').length, 0, 'the denied one never reached the homeserver')
  const allowed = await requestToken('someone@sub.example.org')
  t.equal(allowed.status, 200, JSON.stringify(allowed.body))
  t.match(allowed.body, { sid: String })
  t.equal(hs.receivedMatching('requestToken').length, 1, 'the allowed one was forwarded')
  t.ok(existsSync(join(dir, 'data', 'regguard.sqlite')), 'the store where the starter says')
  t.match(out, /"msg":"policy in force: email: 1 whitelisted domain, default deny; msisdn: default deny; invites on"/)
  child.kill('SIGTERM')
  t.equal(await new Promise((resolve) => child.on('exit', resolve)), 0)
})
