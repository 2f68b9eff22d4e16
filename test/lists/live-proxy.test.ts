import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { loadConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/log.js'
import { start } from '../../src/server.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { startListServer } from '../helpers/list-server.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'

// Live lists through the proxy, against an HTTP list server on loopback: fetched before the
// first request, refreshed conditionally, every bad refresh (500, slow, oversize, garbage, a
// list emptied) keeps the copy in force, is logged, counted and shown on /ready; a restart
// without the network keeps the list from the cache directory.

t.setTimeout(120_000)
const TOKEN = '/_matrix/client/v3/register/email/requestToken'
const body = (email: string): string => JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 })
const LIST = '# disposable\nmailinator.com\n*trashmail.example\n.sub.example\n'

async function waitFor (what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

interface ListState { source: string, sides: string[], entries: number, last_result: string | null, last_error: string | null, age_seconds: number | null, fetched_at: string | null }
async function ready (adminUrl: string): Promise<{ status: number, body: { status: string, lists: ListState[] } }> {
  const r = await request(`${adminUrl}/ready`)
  return { status: r.statusCode, body: await r.body.json() as { status: string, lists: ListState[] } }
}

function tmp (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'regguard-lists-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('a blacklist URL: fetched before serving, refreshed with ETag, bad refreshes keep it', async (t) => {
  const lists = await startListServer(t)
  // the server keys replies by the whole target
  const path = '/disposable.txt?token=secret'
  lists.serve(path, { body: LIST, etag: '"v1"', lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT' })
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, {
    lists: { refresh: 150, timeout_ms: 900, max_bytes: 4096, cache_dir: tmp(t) },
    register: { policy: { allowed: true, threepid: { email: { domain: { blacklist_urls: [lists.url(path)] } } } } }
  })
  const deny = async (email: string): Promise<number> => (await rawPost(rg.port, TOKEN, body(email))).status

  // start-up waited for the first fetch: the list is in force from the first request
  t.equal(await deny('a@mailinator.com'), 403, 'listed domain denied from the first request')
  t.equal(await deny('a@x.trashmail.example'), 403)
  t.equal(await deny('a@sub.example'), 200, '.sub.example: subdomains only')
  t.equal(await deny('a@gmail.example'), 200)
  t.equal(hs.receivedMatching('requestToken').length, 2, 'denied addresses never reached the homeserver')

  await waitFor('a conditional refresh', () => lists.requestsFor(path).some((r) => r.ifNoneMatch === '"v1"' && r.ifModifiedSince === 'Wed, 01 Jan 2025 00:00:00 GMT'))
  await waitFor('not_modified on /ready', async () => (await ready(rg.adminUrl)).body.lists[0]?.last_result === 'not_modified')

  const bad: Array<[string, Parameters<typeof lists.serve>[1], RegExp, string]> = [
    ['500', { status: 500, body: 'oops' }, /^HTTP 500$/, 'error'],
    ['slow', { body: LIST, delayMs: 1500 }, /no answer within 900 ms/, 'error'],
    ['endless body', { body: LIST, hang: true }, /within 900 ms/, 'error'],
    ['oversize', { body: 'a.example\n'.repeat(1000) }, /larger than lists\.max_bytes/, 'error'],
    ['HTML', { body: '<html><body>Service unavailable</body></html>', contentType: 'text/html' }, /text\/html/, 'refused'],
    ['garbage lines', { body: 'mailinator.com\nthis is not a domain\nnor this one\n', contentType: 'text/plain' }, /2 of 3 lines are not domains/, 'refused'],
    ['binary', { body: Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x61, 0x62]), contentType: 'application/octet-stream' }, /binary/, 'refused'],
    ['emptied', { body: '# nothing left\n' }, /no entries/, 'refused']
  ]
  for (const [name, reply, why, result] of bad) {
    lists.serve(path, reply)
    await waitFor(`${name} on /ready`, async () => {
      const l = (await ready(rg.adminUrl)).body.lists[0]
      return l?.last_result === result && why.test(l.last_error ?? '')
    })
    const r = await ready(rg.adminUrl)
    t.equal(r.status, 200, `${name}: /ready still ready`)
    t.equal(r.body.lists[0]?.entries, 3, `${name}: the old copy stays`)
    t.equal(await deny('b@mailinator.com'), 403, `${name}: still denied`)
  }
  const l = (await ready(rg.adminUrl)).body.lists[0] as ListState
  t.equal(l.source, `${lists.url('/disposable.txt')}?…`, 'the query (a token) is not shown')
  t.same(l.sides, ['blacklist'])
  t.ok(rg.logs.some((x) => x.msg === 'domain list refresh failed; the previous copy stays in force' && x.result === 'refused'), 'logged')
  t.notOk(JSON.stringify(rg.logs).includes('secret'), 'the URL\'s token is never logged')

  lists.serve(path, { body: 'mailinator.com\nnew.example\n*trashmail.example\n', etag: '"v2"' })
  await waitFor('the new list', async () => (await deny('a@new.example')) === 403)
  const metrics = await (await request(`${rg.adminUrl}/metrics`)).body.text()
  for (const result of ['ok', 'not_modified', 'error', 'refused']) t.match(metrics, new RegExp(`regguard_list_refreshes_total\\{result="${result}"\\} [1-9]`), result)
  t.match(metrics, /regguard_list_entries\{list="http:\/\/127\.0\.0\.1:\d+\/disposable\.txt\?…"\} 3/)
})

t.test('a list that shrinks by more than 90% is refused', async (t) => {
  const lists = await startListServer(t)
  const big = Array.from({ length: 100 }, (_, i) => `d${i}.example`).join('\n') + '\n'
  lists.serve('/l', { body: big })
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, {
    lists: { refresh: 150, cache_dir: tmp(t) },
    register: { policy: { allowed: true, threepid: { email: { domain: { blacklist_urls: [lists.url('/l')] } } } } }
  })
  lists.serve('/l', { body: 'd1.example\nd2.example\n' })
  await waitFor('refused', async () => (await ready(rg.adminUrl)).body.lists[0]?.last_result === 'refused')
  t.match((await ready(rg.adminUrl)).body.lists[0]?.last_error, /shrank from 100 to 2 entries/)
  t.equal((await rawPost(rg.port, TOKEN, body('a@d50.example'))).status, 403)
  t.equal(hs.receivedMatching('requestToken').length, 0)
})

t.test('a whitelist URL allows; a restart without the list server keeps it from the cache', async (t) => {
  const dir = tmp(t)
  const lists = await startListServer(t)
  lists.serve('/friends', { body: 'friends.example\n' })
  const config = {
    lists: { cache_dir: dir },
    register: { policy: { allowed: false, threepid: { email: { domain: { whitelist_urls: [lists.url('/friends')] } } } } }
  }
  const hs = await startHomeserver(t)
  const first = await startRegguard(t, hs.url, config)
  t.equal((await rawPost(first.port, TOKEN, body('a@friends.example'))).status, 200)
  t.equal((await rawPost(first.port, TOKEN, body('a@strangers.example'))).status, 403)
  await first.app.close()
  first.app.close = async () => {} // closed here already; the helper's teardown would close again
  await lists.close()

  // a copy younger than lists.refresh is not fetched at start-up; here one is due at once
  const second = await startRegguard(t, hs.url, { ...config, lists: { cache_dir: dir, refresh: 100 } })
  t.equal((await rawPost(second.port, TOKEN, body('b@friends.example'))).status, 200, 'the cached copy is in force at once')
  const state = (await ready(second.adminUrl)).body.lists[0] as ListState
  t.equal(state.entries, 1)
  t.not(state.fetched_at, null)
  await waitFor('the failed refresh', async () => (await ready(second.adminUrl)).body.lists[0]?.last_result === 'error')
  t.equal((await rawPost(second.port, TOKEN, body('c@friends.example'))).status, 200, 'still in force after the failed refresh')
  t.same(hs.receivedMatching('requestToken').map((r) => r.body.toString()), [body('a@friends.example'), body('b@friends.example'), body('c@friends.example')])
})

t.test('SIGHUP reload keeps the lists and refreshes them in the background', async (t) => {
  const dir = tmp(t)
  const lists = await startListServer(t)
  lists.serve('/l', { body: 'old.example\n' })
  const hs = await startHomeserver(t)
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, [
    'server: { host: 127.0.0.1, port: 0 }',
    'admin: { host: 127.0.0.1, port: 0 }',
    `homeserver: { url: "${hs.url}" }`,
    `storage: { url: "sqlite://${join(dir, 'rg.sqlite')}" }`,
    `lists: { cache_dir: "${join(dir, 'lists')}", timeout_ms: 5000 }`,
    'register:',
    '  rate_limit: { enabled: false }',
    `  policy: { allowed: true, threepid: { email: { domain: { blacklist_urls: ["${lists.url('/l')}"] } } } }`
  ].join('\n') + '\n')
  const running = await start(loadConfig({ file }), createLogger('silent'))
  t.teardown(() => running.shutdown())
  const port = running.proxyAddress.port
  t.equal((await rawPost(port, TOKEN, body('a@old.example'))).status, 403)
  t.equal(lists.requestsFor('/l').length, 1)

  lists.serve('/l', { body: 'new.example\n', delayMs: 800 })
  const started = Date.now()
  t.equal(running.reload(), true)
  t.ok(Date.now() - started < 500, 'the reload did not wait for the list server')
  t.equal((await rawPost(port, TOKEN, body('b@old.example'))).status, 403, 'the fetched list is kept across the reload')
  await waitFor('the refresh SIGHUP asked for', async () => (await rawPost(port, TOKEN, body('c@new.example'))).status === 403)
  t.equal((await rawPost(port, TOKEN, body('d@old.example'))).status, 200)
  t.equal(lists.requestsFor('/l').length, 2, 'one fetch per reload')
})
