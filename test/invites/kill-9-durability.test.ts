import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { startHomeserver } from '../helpers/homeserver.js'
import { tempDir } from '../store/backends.js'
import { ADMIN_TOKEN, adminCall, listInvites } from './helpers.js'
import { asInstalled } from '../helpers/cli-path.js'

// An invite the admin API answered 201 for is committed: it survives `kill -9` of the real
// regguard process (dist/src/cli.js: run `npm run build` first), even mid-burst.

t.setTimeout(180_000)

interface Proc { child: ChildProcess, adminUrl: string }

function startCli (t: { teardown: (fn: () => unknown) => void }, file: string, cwd: string): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...asInstalled(), '--config', file], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
    let out = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`regguard did not start: ${out}${err}`)), 60_000)
    child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      for (const line of out.split('\n')) {
        if (!line.includes('"regguard listening"')) continue
        clearTimeout(timer)
        const port = (JSON.parse(line) as { admin: { port: number } }).admin.port
        resolve({ child, adminUrl: `http://127.0.0.1:${port}` })
        return
      }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`regguard exited ${String(code)}: ${out}${err}`)) })
  })
}

function kill9 (p: Proc): Promise<void> {
  return new Promise((resolve) => {
    p.child.once('exit', () => resolve())
    p.child.kill('SIGKILL')
  })
}

t.test('invites answered 201 survive kill -9, even while others are being written', async (t) => {
  const hs = await startHomeserver(t)
  const dir = tempDir(t)
  const file = join(dir, 'regguard.yaml')
  // relative to the working directory, as in the default; the data directory does not exist yet
  writeFileSync(file, JSON.stringify({
    homeserver: { url: hs.url },
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0, token: ADMIN_TOKEN },
    storage: { url: 'sqlite://./data/regguard.sqlite' },
    log: { level: 'info' }
  }))
  const first = await startCli(t, file, dir)
  const a = await adminCall(first.adminUrl, 'POST', '/_regguard/admin/v1/invites', { medium: 'email', address: 'before@example.org' })
  t.equal(a.status, 201)

  // a burst of adds, killed part-way: every one that got its 201 must be there afterwards
  const acknowledged: string[] = []
  let sent = 0
  const burst = Array.from({ length: 8 }, async (_, worker) => {
    for (let i = 0; ; i++) {
      sent++
      try {
        const res = await request(`${first.adminUrl}/_regguard/admin/v1/invites`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ medium: 'email', address: `w${worker}-${i}@example.org` })
        })
        const body = await res.body.json() as { id: string }
        if (res.statusCode === 201) acknowledged.push(body.id)
      } catch {
        return // the process is gone
      }
    }
  })
  while (acknowledged.length < 40) await new Promise((resolve) => setTimeout(resolve, 5))
  await kill9(first)
  await Promise.all(burst)
  t.ok(acknowledged.length >= 40, `${acknowledged.length} of ${sent} acknowledged before the kill`)

  const second = await startCli(t, file, dir)
  const ids = new Set((await listInvites(second.adminUrl)).map((i) => i.id))
  t.ok(ids.has(a.body.id as string), 'the first invite is there')
  const lost = acknowledged.filter((id) => !ids.has(id))
  t.same(lost, [], 'no acknowledged invite was lost')
  await kill9(second)
})
