import { writeFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import { join } from 'node:path'
import t from 'tap'
import YAML from 'yaml'
import { loadConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/log.js'
import { MasFeeder } from '../../src/mas/feeder.js'
import { start, type Running } from '../../src/server.js'
import { startListServer } from '../helpers/list-server.js'
import { emailAllowed } from '../helpers/mas-policy.js'
import { masStandin, type MasStandin } from '../helpers/mas-standin.js'

// `serve` with mas.url: pushes at start, after a reload (the SIGHUP handler's work) and when a
// live list's copy changes, and not when nothing changed; a 400 is logged with MAS's message,
// shown on /ready and counted. Against the stand-in MAS and a list server, both on loopback.

const POLL_MS = 50

async function until (what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function spellings (a: string): string[] {
  const [local, domain] = a.split('@') as [string, string]
  return [a, a.toUpperCase(), `${local}@${domain.toUpperCase()}`, `${local}@${[...domain].map((c, i) => i % 2 === 1 ? c.toUpperCase() : c).join('')}`]
}

async function serveWithMas (t: Tap.Test, mas: MasStandin, policy: Record<string, unknown>, server: Record<string, unknown>): Promise<{ running: Running, file: string, write: (policy: Record<string, unknown>) => void, dir: string, logs: string[] }> {
  const dir = t.testdir({})
  const file = join(dir, 'regguard.yaml')
  const write = (p: Record<string, unknown>): void => {
    writeFileSync(file, YAML.stringify({
      server: { host: '127.0.0.1', port: 0, ...server },
      admin: { host: '127.0.0.1', port: 0 },
      homeserver: { url: 'http://127.0.0.1:9' },
      storage: { url: `sqlite://${join(dir, 'r.sqlite')}` },
      lists: { cache_dir: join(dir, 'lists') },
      register: { policy: { allowed: true, invite: false, require_3pid: true, ...p } },
      mas: { url: mas.url, client_id: 'regguard', client_secret: 's3cret', state_file: join(dir, 'mas-state.json') }
    }))
  }
  write(policy)
  const logs: string[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { logs.push(chunk.toString('utf8')); done() } })
  const running = await start(loadConfig({ file }), createLogger('info', sink), { masPollMs: POLL_MS })
  t.teardown(() => running.shutdown())
  return { running, file, write, dir, logs }
}

async function ready (running: Running): Promise<{ mas: Record<string, unknown> }> {
  return await (await fetch(`http://127.0.0.1:${running.adminAddress.port}/ready`)).json() as { mas: Record<string, unknown> }
}

t.test('a MAS feeder (server.enabled false): at start, after a reload, when a live list changes; never when nothing changed', async (t) => {
  const mas = await masStandin({ clientId: 'regguard', clientSecret: 's3cret' })
  t.teardown(() => mas.close())
  const lists = await startListServer(t)
  lists.serve('/disposable.conf', { body: 'mailinator.com\nguerrillamail.com\n', etag: '"v1"' })
  const email = (blacklist: string[]): Record<string, unknown> => ({ threepid: { email: { domain: { blacklist, blacklist_urls: [lists.url('/disposable.conf')] } } } })
  const { running, write } = await serveWithMas(t, mas, email(['evil.example']), { enabled: false })
  t.equal(running.proxyAddress, null, 'no gate listener')

  await until('the first push', () => mas.pushes.length === 1)
  for (const d of ['x@mailinator.com', 'x@guerrillamail.com', 'x@evil.example']) for (const typed of spellings(d)) t.notOk(emailAllowed(mas.merged(), typed), typed)
  t.ok(emailAllowed(mas.merged(), 'x@gmail.com'))
  const r1 = await ready(running)
  t.equal(r1.mas.last_result, 'ok')
  const res = await fetch(`http://127.0.0.1:${running.adminAddress.port}/ready`)
  t.equal(res.status, 200, 'ready without a homeserver: a feeder alone does not use it')
  t.equal(((await res.json()) as { homeserver: string }).homeserver, 'not used (server.enabled: false)')
  t.equal(r1.mas.accepted_hash, r1.mas.document_hash)

  // the list changes; the scheduled refresh (here: asked for) writes the new copy; the feeder sees it
  lists.serve('/disposable.conf', { body: 'mailinator.com\nguerrillamail.com\nyopmail.com\n', etag: '"v2"' })
  await running.app.context.lists.refreshAll()
  await until('the push after the list changed', () => mas.pushes.length === 2)
  for (const typed of spellings('x@yopmail.com')) t.notOk(emailAllowed(mas.merged(), typed), typed)

  // a reload (SIGHUP) with a changed configuration
  write(email(['evil.example', 'worse.example']))
  t.ok(running.reload())
  await until('the push after the reload', () => mas.pushes.length === 3)
  for (const typed of spellings('x@worse.example')) t.notOk(emailAllowed(mas.merged(), typed), typed)

  // a reload with nothing changed (the list answers 304), and time for several looks
  t.ok(running.reload())
  await pause(POLL_MS * 8)
  await until('the reload\'s list refresh', () => lists.requestsFor('/disposable.conf').length >= 4)
  await pause(POLL_MS * 8)
  t.equal(mas.pushes.length, 3, 'nothing changed: nothing pushed')
  // the list served again whole (200, same content, a new fetch time): the same document, not pushed
  lists.serve('/disposable.conf', { body: 'mailinator.com\nguerrillamail.com\nyopmail.com\n', etag: '"v3"' })
  await running.app.context.lists.refreshAll()
  await pause(POLL_MS * 8)
  t.equal(mas.pushes.length, 3, 'same document: not pushed')
})

t.test('a 400 from MAS: logged with MAS\'s message, shown on /ready, counted; MAS keeps its data; not sent again', async (t) => {
  const mas = await masStandin({ clientId: 'regguard', clientSecret: 's3cret' })
  t.teardown(() => mas.close())
  const blacklist = (d: string[]): Record<string, unknown> => ({ threepid: { email: { domain: { blacklist: d } } } })
  const { running, write, logs } = await serveWithMas(t, mas, blacklist(['evil.example']), {})
  t.not(running.proxyAddress, null, 'the gate listens too')
  await until('the first push', () => mas.pushes.length === 1)
  mas.set({ refuse: (data) => JSON.stringify(data).includes('worse') ? 'the policy could not load this data' : null })
  write(blacklist(['evil.example', 'worse.example']))
  t.ok(running.reload())
  await until('the refusal', () => mas.refusals.length === 1)
  await until('the status', () => running.app.context.mas?.status().last_result === 'refused')
  const r = await ready(running)
  t.equal(r.mas.last_result, 'refused')
  t.match(r.mas.last_error, /Failed to instanciate policy with the provided data: the policy could not load this data/)
  t.not(r.mas.accepted_hash, r.mas.document_hash)
  const line = logs.map((l) => JSON.parse(l) as { msg: string, mas_error?: string }).find((l) => l.msg.startsWith('MAS refused the policy data (400)'))
  t.match(line?.mas_error, /the policy could not load this data/, 'logged with MAS\'s message')
  const metrics = await (await fetch(`http://127.0.0.1:${running.adminAddress.port}/metrics`)).text()
  t.match(metrics, /regguard_mas_pushes_total\{result="refused"\} 1/)
  t.match(metrics, /regguard_mas_pushes_total\{result="ok"\} 1/)
  t.ok(emailAllowed(mas.merged(), 'x@worse.example'), 'MAS keeps the data it had')
  t.notOk(emailAllowed(mas.merged(), 'x@EVIL.example'))
  await pause(POLL_MS * 8)
  t.equal(mas.refusals.length, 1, 'the refused document is not sent again')
  // fixed: the next document goes
  write(blacklist(['evil.example', 'bad.example']))
  t.ok(running.reload())
  await until('the push after the fix', () => mas.pushes.length === 2)
  t.equal((await ready(running)).mas.last_result, 'ok')
})

t.test('a restart with the same policy pushes nothing (mas.state_file); another document does go', async (t) => {
  const mas = await masStandin({ clientId: 'regguard', clientSecret: 's3cret' })
  t.teardown(() => mas.close())
  const dir = t.testdir({})
  const settings = (blacklist: string[]): ReturnType<typeof loadConfig> => loadConfig({ object: { register: { policy: { allowed: true, invite: false, require_3pid: true, threepid: { email: { domain: { blacklist } } } } }, lists: { cache_dir: join(dir, 'lists') }, mas: { url: mas.url, client_id: 'regguard', client_secret: 's3cret', state_file: join(dir, 'state.json') } }, env: {} })
  const logged: string[] = []
  const log = { debug: (_o: object, m: string) => { logged.push(m) }, info: (_o: object, m: string) => { logged.push(m) }, warn: (_o: object, m: string) => { logged.push(m) }, error: (_o: object, m: string) => { logged.push(m) } }
  const first = new MasFeeder(settings(['evil.example']), { log, pollMs: POLL_MS })
  await first.start()
  await first.stop()
  t.equal(mas.pushes.length, 1)
  const second = new MasFeeder(settings(['evil.example']), { log, pollMs: POLL_MS })
  await second.start()
  t.equal(second.status().last_result, 'unchanged')
  t.equal(mas.pushes.length, 1, 'the same document is not pushed again after a restart')
  second.reconfigure(settings(['evil.example', 'other.example']))
  await until('the push of the new document', () => mas.pushes.length === 2)
  await second.stop()
})

t.test('MAS unreachable: an error on /ready, counted, tried again later; pushed once MAS answers', async (t) => {
  const mas = await masStandin({ clientId: 'regguard', clientSecret: 's3cret' })
  const url = mas.url
  await mas.close()
  const dir = t.testdir({})
  const config = loadConfig({ object: { mas: { url, client_id: 'regguard', client_secret: 's3cret', state_file: join(dir, 'state.json'), timeout_ms: 1000 } }, env: {} })
  const counted: string[] = []
  const logged: string[] = []
  const log = { debug: () => {}, info: () => {}, warn: (_o: object, m: string) => { logged.push(m) }, error: (_o: object, m: string) => { logged.push(m) } }
  const feeder = new MasFeeder(config, { log, pollMs: POLL_MS, metrics: { pushes: { inc: ({ result }) => { counted.push(result) } } } })
  t.teardown(() => feeder.stop())
  await feeder.start()
  t.equal(feeder.status().last_result, 'error')
  t.match(feeder.status().last_error, /ECONNREFUSED/)
  t.same(counted, ['error'])
  t.match(logged.join('\n'), /cannot push the policy data to MAS; trying again later/)
  await pause(POLL_MS * 6)
  t.same(counted, ['error'], 'backs off: not tried at every look')
})

t.test('instances sharing mas.state_file (a cluster\'s workers) push one document once', async (t) => {
  const mas = await masStandin({ clientId: 'regguard', clientSecret: 's3cret' })
  t.teardown(() => mas.close())
  const dir = t.testdir({})
  const config = loadConfig({ object: { register: { policy: { allowed: true, invite: false, require_3pid: true, threepid: { email: { domain: { blacklist: ['evil.example'] } } } } }, lists: { cache_dir: join(dir, 'lists') }, mas: { url: mas.url, client_id: 'regguard', client_secret: 's3cret', state_file: join(dir, 'state.json') } }, env: {} })
  const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
  const feeders = [1, 2, 3, 4].map(() => new MasFeeder(config, { log, pollMs: POLL_MS }))
  t.teardown(() => Promise.all(feeders.map((f) => f.stop())))
  await Promise.all(feeders.map((f) => f.start()))
  await until('every instance knows the document is in MAS', () => feeders.every((f) => f.status().accepted_hash === f.status().document_hash))
  t.equal(mas.pushes.length, 1, 'pushed once')
})
