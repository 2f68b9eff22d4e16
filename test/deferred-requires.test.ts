import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { DEFERRALS, deferredSource, deferredUrl } from '../src/deferred-requires.js'
import { bareNode, freePort, runCli } from './helpers/cli-process.js'
import { startHomeserver } from './helpers/homeserver.js'
import { rawRequest } from './helpers/raw-http.js'

// fastify's node:https / node:http2 and undici's HTTP/2 connector load when first used, not
// when their requirers load; what they hand out is the real thing.

const ROOT = new URL('../', import.meta.url).pathname
const FASTIFY_SERVER = `file://${ROOT}node_modules/fastify/lib/server.js`
const UNDICI_CLIENT = `file://${ROOT}node_modules/undici/lib/dispatcher/client.js`

t.test('only the listed requests from the listed files are deferred', async (t) => {
  t.equal(DEFERRALS.length, 3)
  t.equal(deferredUrl('node:https', FASTIFY_SERVER), 'regguard-deferred:builtin:node:https')
  t.equal(deferredUrl('node:http2', FASTIFY_SERVER), 'regguard-deferred:builtin:node:http2')
  t.equal(deferredUrl('./client-h2.js', UNDICI_CLIENT), `regguard-deferred:function:file://${ROOT}node_modules/undici/lib/dispatcher/client-h2.js`)
  t.equal(deferredUrl('node:http', FASTIFY_SERVER), null, 'node:http is used at once')
  t.equal(deferredUrl('node:https', UNDICI_CLIENT), null, 'another file asking for the same module gets it')
  t.equal(deferredUrl('./client-h2.js', `file://${ROOT}node_modules/undici/lib/dispatcher/pool.js`), null)
  t.equal(deferredUrl('node:https', undefined), null, 'the entry point')
  t.equal(deferredSource('file:///x.js'), null)
  t.equal(deferredSource('regguard-deferred:other:x'), null)
  t.match(deferredSource('regguard-deferred:builtin:node:https'), /getBuiltinModule\("node:https"\)/)
})

t.test('a fresh process: nothing of TLS or HTTP/2 at load; plain HTTP, HTTPS and h2 all work through the stand-ins', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'regguard-deferred-'))
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=localhost', '-days', '1'], { stdio: 'ignore' })
  // the built module, in a process without the test runner's loaders (they load tls themselves)
  const script = `import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { deferUnusedRequires } from ${JSON.stringify(join(ROOT, 'dist/src/deferred-requires.js'))}
const stop = deferUnusedRequires()
const require = createRequire(${JSON.stringify(join(ROOT, 'package.json'))})
const Fastify = require('fastify')
const Pool = require('undici/lib/dispatcher/pool.js')
// undici's index adds request() to the dispatchers; the Pool's own file does not
const request = require('undici/lib/api/api-request.js')
stop()
const loaded = () => ['tls', 'https', 'http2'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m))
const report = { atLoad: loaded() }
const version = async (req) => req.raw.httpVersion
const get = async (origin, opts = {}) => {
  const pool = new Pool(origin, opts)
  const res = await request.call(pool, { path: '/', method: 'GET' })
  const text = await res.body.text()
  await pool.close()
  return text
}
const plain = Fastify()
plain.get('/', version)
await plain.listen({ port: 0, host: '127.0.0.1' })
report.plain = await get('http://127.0.0.1:' + plain.server.address().port)
report.afterPlain = loaded()
const tlsOptions = { key: readFileSync(${JSON.stringify(join(dir, 'key.pem'))}), cert: readFileSync(${JSON.stringify(join(dir, 'cert.pem'))}) }
const https = Fastify({ https: tlsOptions })
https.get('/', version)
await https.listen({ port: 0, host: '127.0.0.1' })
report.https = await get('https://127.0.0.1:' + https.server.address().port, { connect: { rejectUnauthorized: false } })
const h2 = Fastify({ http2: true, https: { ...tlsOptions, allowHTTP1: true } })
h2.get('/', version)
await h2.listen({ port: 0, host: '127.0.0.1' })
report.h2 = await get('https://127.0.0.1:' + h2.server.address().port, { allowH2: true, connect: { rejectUnauthorized: false } })
report.end = loaded()
await Promise.all([plain.close(), https.close(), h2.close()])
console.log(JSON.stringify(report))`
  const [command, args] = bareNode(['--input-type=module', '-e', script])
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 })
  t.equal(r.status, 0, r.stderr)
  const report = JSON.parse(r.stdout) as Record<string, unknown>
  t.same(report.atLoad, [], 'fastify and the undici Pool loaded: no tls, https or http2')
  t.equal(report.plain, '1.1')
  t.same(report.afterPlain, [], 'plain HTTP served and forwarded: still none')
  t.equal(report.https, '1.1', "fastify's https option reaches the real node:https")
  t.equal(report.h2, '2.0', "fastify's http2 option and undici's h2 connector reach the real ones")
  t.same(report.end, ['tls', 'https', 'http2'], 'loaded once used')
})

t.test('the real command, serving with the default store and a forwarded request, has loaded no tls, https or http2', async (t) => {
  const hs = await startHomeserver(t)
  const dir = mkdtempSync(join(tmpdir(), 'regguard-deferred-cli-'))
  // reports the builtins loaded so far on SIGUSR2 (loaded first, it changes nothing regguard loads)
  const probe = join(dir, 'probe.mjs')
  writeFileSync(probe, "process.on('SIGUSR2', () => { console.log(JSON.stringify({ builtins: process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)) })) })\n")
  const [port, adminPort] = [await freePort(), await freePort()]
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, [
    `server: { host: 127.0.0.1, port: ${port} }`,
    `admin: { host: 127.0.0.1, port: ${adminPort} }`,
    `homeserver: { url: "${hs.url}" }`,
    `storage: { url: "sqlite://${join(dir, 'rg.sqlite')}" }`
  ].join('\n') + '\n')
  const cli = runCli(t, ['--config', file], { nodeArgs: ['--import', probe], bare: true })
  await cli.waitForLog((l) => l.msg === 'regguard listening')
  const res = await rawRequest(port, 'GET /_matrix/client/versions HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  t.equal(res.status, 200, 'forwarded')
  t.equal(hs.received.length, 1)
  cli.child.kill('SIGUSR2')
  const { builtins } = await cli.waitForLog((l) => Array.isArray(l.builtins)) as { builtins: string[] }
  t.ok(builtins.includes('http'), 'the list is read')
  t.same(builtins.filter((m) => m === 'tls' || m === 'https' || m === 'http2'), [])
  cli.child.kill('SIGTERM')
  t.equal(await cli.exited, 0)
})
