// The smoke run on a Node line the full suite does not run on (bash .ci/run runs it under Node 26):
// the command as operators install it (this checkout packed and installed with `npm install -g`
// by this Node, so native addons are this Node's), one denied and one allowed policed request,
// one store write (an invite through the admin API, then that address allowed), an invite
// learned from a createRoom (whoami asked of the homeserver), SIGTERM and a clean exit.
// Exits 0 with "smoke ok" or 1 naming the step that failed.
//   node scripts/smoke.mjs [COMMAND]
// COMMAND: an installed regguard to run instead (or the prefix in REGGUARD_INSTALLED_PREFIX).
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { commandIn, installedMarker, packAndInstall } from './install-packed.mjs'

const dir = mkdtempSync(join(tmpdir(), 'regguard-smoke-'))
let command = process.argv[2]
const givenPrefix = process.env.REGGUARD_INSTALLED_PREFIX
if (command === undefined && givenPrefix !== undefined && givenPrefix !== '' && existsSync(installedMarker(givenPrefix))) command = commandIn(givenPrefix)
if (command === undefined) {
  try {
    command = packAndInstall(join(dir, 'prefix'))
  } catch (err) {
    console.error(`smoke failed: npm pack and npm install -g of this checkout (${err.message})`)
    rmSync(dir, { recursive: true, force: true })
    process.exit(1)
  }
}
const received = []
const hs = createServer((req, res) => {
  let body = ''
  req.on('data', (c) => { body += c })
  req.on('end', () => {
    received.push({ url: req.url, body })
    res.writeHead(200, { 'Content-Type': 'application/json' })
    // whoami and createRoom as Synapse answers them: invite learning asks who the inviter is
    if (req.url.startsWith('/_matrix/client/v3/account/whoami')) res.end('{"user_id":"@alice:localhost","device_id":"D","is_guest":false}')
    else if (req.url.startsWith('/_matrix/client/v3/createRoom')) res.end('{"room_id":"!smoke:localhost"}')
    else res.end(req.url.includes('requestToken') ? '{"sid":"smoke"}' : '{}')
  })
})
await new Promise((resolve) => hs.listen(0, '127.0.0.1', resolve))
const token = 'smoke-admin-token-0123456789'
writeFileSync(join(dir, 'regguard.yaml'), [
  'server: { host: 127.0.0.1, port: 0 }',
  'admin: { host: 127.0.0.1, port: 0, token: ' + token + ' }',
  `homeserver: { url: "http://127.0.0.1:${hs.address().port}" }`,
  `storage: { url: "sqlite://${join(dir, 'store.sqlite')}" }`,
  'register: { policy: { allowed: false, threepid: { email: { domain: { whitelist: ["example.org"] } } } } }'
].join('\n'))

// the installed command itself, as systemd runs it: its shebang finds this node on PATH
const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` }
for (const k of Object.keys(env)) if (k.startsWith('REGGUARD_') || k === 'NODE_OPTIONS') delete env[k]
const child = spawn(command, ['--config', join(dir, 'regguard.yaml')], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'], env })
let out = ''
const listening = new Promise((resolve, reject) => {
  child.stdout.on('data', (d) => {
    out += d
    for (const line of out.split('\n')) {
      try { const j = JSON.parse(line); if (j.msg === 'regguard listening') resolve(j) } catch {}
    }
  })
  child.on('exit', (code) => reject(new Error(`regguard exited early (${code})`)))
})
const fail = (step) => { console.error(`smoke failed: ${step}`); child.kill('SIGKILL'); hs.close(); rmSync(dir, { recursive: true, force: true }); process.exit(1) }
const started = await Promise.race([listening, new Promise((resolve) => setTimeout(() => resolve(null), 15000))]).catch(() => null)
if (started === null) fail('regguard did not start')
const proxy = `http://127.0.0.1:${started.proxy.port}`
const admin = `http://127.0.0.1:${started.admin.port}`
const ask = (email) => fetch(proxy + '/_matrix/client/v3/register/email/requestToken', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ client_secret: 'smoke', email, send_attempt: 1 }) })

if ((await ask('eve@evil.example')).status !== 403) fail('denied requestToken was not 403')
if (received.some((r) => r.body.includes('evil.example'))) fail('a denied request reached the homeserver')
if ((await ask('alice@example.org')).status !== 200) fail('allowed requestToken was not forwarded')
const add = await fetch(admin + '/_regguard/admin/v1/invites', { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ medium: 'email', address: 'bob@invited.example' }) })
if (add.status !== 201) fail(`store write (invite add) answered ${add.status}`)
if ((await ask('bob@invited.example')).status !== 200) fail('the invited address was not allowed')
// an invite made through regguard (createRoom with invite_3pid) is learned: whoami through its pool
const created = await fetch(proxy + '/_matrix/client/v3/createRoom', { method: 'POST', headers: { Authorization: 'Bearer alice-token', 'Content-Type': 'application/json' }, body: JSON.stringify({ invite_3pid: [{ id_server: 'is.example', id_access_token: 'x', medium: 'email', address: 'carol@learned.example' }] }) })
if (created.status !== 200) fail(`createRoom answered ${created.status}`)
let learned = false
for (let i = 0; i < 100 && !learned; i++) {
  const list = await fetch(admin + '/_regguard/admin/v1/invites?medium=email&address=carol%40learned.example', { headers: { Authorization: `Bearer ${token}` } })
  learned = (await list.json()).invites?.length === 1
  if (!learned) await new Promise((resolve) => setTimeout(resolve, 50))
}
if (!learned) fail(`the invite made through createRoom was not learned (${out.split('\n').filter((l) => l.includes('invite not learned')).join(' ') || 'no log line'})`)
if ((await ask('carol@learned.example')).status !== 200) fail('the learned invite did not allow its address')
child.kill('SIGTERM')
const code = await new Promise((resolve) => child.on('exit', resolve))
hs.close()
rmSync(dir, { recursive: true, force: true })
if (code !== 0) fail(`exit code ${code} after SIGTERM`)
console.log(`smoke ok on Node ${process.version}`)
