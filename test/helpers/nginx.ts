import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { defaultReply, startHomeserver, type Homeserver, type Received } from './homeserver.js'
import { rawPost, rawRequest } from './raw-http.js'
import { startRegguard, type Started } from './regguard.js'

// A real nginx (the Debian package CI installs with .ci/install-nginx.sh) started by a test on
// loopback, running a copy of a deploy/nginx/ site config: only the upstream addresses and the
// listen port are rewritten, so the tests exercise the very file operators install.

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const DEPLOY_DIR = join(REPO, 'deploy', 'nginx')

export interface NginxOptions {
  /** 'narrow' | 'full' (deploy/nginx/regguard-<site>.conf), or a path to a site config */
  site: string
  /** Port that replaces the `regguard` upstream's 127.0.0.1:8090 */
  regguardPort: number
  /** Port that replaces the `synapse` upstream's 127.0.0.1:8008 */
  synapsePort: number
}

export interface Nginx {
  port: number
  url: string
  dir: string
  /** The site config as nginx runs it, after the rewrite */
  siteConfig: string
  errorLog: () => string
  /** One line per request: the raw target as received, then the upstream it went to */
  accessLog: () => string[]
  stop: () => Promise<void>
}

let cachedBinary: string | null | undefined

/** The nginx binary: $REGGUARD_NGINX, then PATH, then where distributions put it. */
export function findNginx (): string | null {
  if (cachedBinary !== undefined) return cachedBinary
  const candidates = [
    process.env.REGGUARD_NGINX,
    ...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, 'nginx')),
    '/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'
  ]
  cachedBinary = null
  for (const c of candidates) {
    if (c === undefined || c === '') continue
    try { accessSync(c, constants.X_OK); cachedBinary = c; break } catch {}
  }
  return cachedBinary
}

/**
 * For tap's `skip` option: a reason when nginx is missing on a developer machine. Under CI
 * (CI set) a missing nginx is not a reason to skip: the test runs and fails loudly, because
 * .ci/run installs nginx and these tests must really run there.
 */
export function nginxSkipReason (): string | false {
  if (findNginx() !== null || process.env.CI !== undefined) return false
  return 'nginx is not installed: run `bash .ci/install-nginx.sh` (Debian package nginx-light) to run the nginx tests'
}

/** Rewrites the deploy config for a test run; throws when the file no longer has the expected shape. */
export function rewriteSiteConfig (text: string, ports: { listen: number, regguard: number, synapse: number }): string {
  let out = text
  const replaceOnce = (re: RegExp, by: (m: string, ...g: string[]) => string, what: string): void => {
    const hits = out.match(new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g'))?.length ?? 0
    if (hits !== 1) throw new Error(`nginx site config: expected exactly one ${what}, found ${hits}`)
    out = out.replace(re, by as (m: string) => string)
  }
  replaceOnce(/(upstream\s+regguard\s*\{[^}]*?server\s+)127\.0\.0\.1:8090;/, (_m, pre) => `${pre}127.0.0.1:${ports.regguard};`, 'regguard upstream on 127.0.0.1:8090')
  replaceOnce(/(upstream\s+synapse\s*\{[^}]*?server\s+)127\.0\.0\.1:8008;/, (_m, pre) => `${pre}127.0.0.1:${ports.synapse};`, 'synapse upstream on 127.0.0.1:8008')
  replaceOnce(/^(\s*)listen\s+80;/m, (_m, indent) => `${indent}listen 127.0.0.1:${ports.listen};`, '"listen 80;"')
  // the test binds loopback only; an IPv6 wildcard listener is not ours to take
  out = out.replace(/^\s*listen\s+\[::\]:80;\s*$/m, '')
  return out
}

import { freePort } from './net.js'
export { freePort }

function supportsErrorLogFlag (bin: string): boolean {
  // -e exists since 1.19.5; without it nginx opens its compiled-in error log before reading ours
  const v = spawnSync(bin, ['-v'], { encoding: 'utf8' })
  const m = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(`${v.stderr}${v.stdout}`)
  if (m === null) return false
  const [maj, min, pat] = m.slice(1).map(Number) as [number, number, number]
  return maj > 1 || (maj === 1 && (min > 19 || (min === 19 && pat >= 5)))
}

function mainConfig (dir: string): string {
  // Workers of a root master drop to "nobody", who could not write body temp files into our
  // private temp dir; run them as whoever runs the tests instead.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};\n` : ''
  return `${user}daemon off;
master_process on;
worker_processes 1;
error_log ${join(dir, 'error.log')} info;
pid ${join(dir, 'nginx.pid')};
events { worker_connections 512; }
http {
    log_format regguard_test '$request_uri -> $upstream_addr $status';
    access_log ${join(dir, 'access.log')} regguard_test;
    client_body_temp_path ${join(dir, 'body')};
    proxy_temp_path ${join(dir, 'proxy')};
    fastcgi_temp_path ${join(dir, 'fastcgi')};
    uwsgi_temp_path ${join(dir, 'uwsgi')};
    scgi_temp_path ${join(dir, 'scgi')};
    include ${join(dir, 'site.conf')};
}
`
}

async function waitReady (port: number, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nginx exited during start-up:\n${output()}`)
    try {
      const res = await rawRequest(port, 'GET /__nginx_ready HTTP/1.0\r\n\r\n', 1000)
      if (res.status > 0) return
    } catch {}
    if (Date.now() > deadline) throw new Error(`nginx did not answer on 127.0.0.1:${port} within ${timeoutMs} ms:\n${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** SIGKILL for nginx's whole process group: killing only the master would orphan its workers,
 * which keep serving the port. */
function killGroup (child: ChildProcess): void {
  if (child.pid === undefined) return
  try { process.kill(-child.pid, 'SIGKILL') } catch {}
}

function stopChild (child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { killGroup(child); resolve(); return }
    const kill = setTimeout(() => killGroup(child), 5000)
    child.once('exit', () => { clearTimeout(kill); resolve() })
    child.kill('SIGQUIT') // graceful: workers finish in-flight requests, then all exit
  })
}

async function startOnce (bin: string, opts: NginxOptions): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'regguard-nginx-'))
  const sitePath = /^[a-z]+$/.test(opts.site) ? join(DEPLOY_DIR, `regguard-${opts.site}.conf`) : opts.site
  const port = await freePort()
  const siteConfig = rewriteSiteConfig(readFileSync(sitePath, 'utf8'), { listen: port, regguard: opts.regguardPort, synapse: opts.synapsePort })
  writeFileSync(join(dir, 'site.conf'), siteConfig)
  writeFileSync(join(dir, 'nginx.conf'), mainConfig(dir))
  const args = ['-p', dir + '/', '-c', join(dir, 'nginx.conf')]
  if (supportsErrorLogFlag(bin)) args.push('-e', join(dir, 'error.log'))
  // its own process group, so the master and its workers can be ended together
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { output += d.toString() })
  const errorLog = (): string => { try { return readFileSync(join(dir, 'error.log'), 'utf8') } catch { return '' } }
  // a test process dying on an uncaught error must not leave an nginx holding a port
  const onExit = (): void => { killGroup(child); rmSync(dir, { recursive: true, force: true }) }
  process.once('exit', onExit)
  const cleanup = (): void => {
    process.removeListener('exit', onExit)
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitReady(port, child, () => `${output}\n${errorLog()}`, 15_000)
  } catch (err) {
    await stopChild(child)
    const e = err as Error & { dir?: string, log?: string }
    e.log = `${output}\n${errorLog()}`
    cleanup()
    throw e
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    dir,
    siteConfig,
    errorLog,
    accessLog: () => { try { return readFileSync(join(dir, 'access.log'), 'utf8').split('\n').filter((l) => l !== '') } catch { return [] } },
    stop: async () => { await stopChild(child); cleanup() }
  }
}

/** Starts nginx on a free loopback port in front of the given upstreams; stopped on teardown. */
export async function startNginx (t: { teardown: (fn: () => unknown) => void }, opts: NginxOptions): Promise<Nginx> {
  const bin = findNginx()
  if (bin === null) throw new Error('nginx is not installed: run `bash .ci/install-nginx.sh`')
  // the free port can be taken by someone else between our probe and nginx's bind: try again
  for (let attempt = 1; ; attempt++) {
    try {
      const ng = await startOnce(bin, opts)
      t.teardown(() => ng.stop())
      return ng
    } catch (err) {
      const log = (err as { log?: string }).log ?? ''
      if (attempt < 3 && /Address already in use/.test(log)) continue
      throw err
    }
  }
}

// ---- the stack the nginx tests share: client -> nginx -> (regguard ->) stand-in homeserver ----

export { synapseRoutesToken as synapseWouldPolice } from './synapse-routes.js'

/**
 * Spellings of the v3 register email requestToken path that nginx's location matching (decoded,
 * slashes merged, dot segments resolved) may see differently from Synapse's raw matching. None
 * may lead to a policed path reaching the homeserver unpoliced.
 */
export const POLICED_PATH_VARIANTS: readonly string[] = [
  '/_matrix/client/v3/register/email/requestToken',
  '/_matrix/client/v3/register/email/requestToken?x=1',
  '/_matrix/client/v3/register/email/request%54oken',
  '/_matrix/client/v3/register/email%2FrequestToken',
  '/_matrix/client/v3/%72egister/email/requestToken',
  '/%5Fmatrix/client/v3/register/email/requestToken',
  '/%5fmatrix%2fclient%2fv3%2fregister%2femail%2frequestToken',
  '//_matrix/client/v3/register/email/requestToken',
  '/_matrix//client/v3/register/email/requestToken',
  '/_matrix/client//v3/register/email/requestToken',
  '/_matrix/client/v3//register/email/requestToken',
  '/_matrix/client/v3/register//email/requestToken',
  '/_matrix/client/v3/register/email//requestToken',
  '/_matrix/client/v3/./register/email/requestToken',
  '/_matrix/client/v3/x/../register/email/requestToken',
  '/_matrix/client/v3/x/%2e%2e/register/email/requestToken',
  '/_matrix/client/v3/register/email/requestToken/',
  '/_matrix/client/v3/register/email/requestToken%2F',
  '/_matrix/client/v3/register/email/requestToken%3Fx=1',
  '/_matrix/client/V3/register/email/requestToken',
  '/_matrix/client/v3/account/3pid%2Femail/requestToken',
  '/_matrix/client/v3/account//3pid/email/requestToken',
  'http://matrix.example.org/_matrix/client/v3/register/email/requestToken'
]

export const BLACKLISTING_POLICY = {
  register: {
    policy: {
      allowed: false,
      threepid: {
        email: { domain: { whitelist: ['*example.org'], blacklist: ['evil.example.org'] } }
      }
    }
  }
}

export interface NginxStack {
  hs: Homeserver
  rg: Started
  ng: Nginx
  /** Forget what the homeserver and regguard saw so far */
  reset: () => void
  /** The homeserver got it from regguard (which appends nginx's address) rather than from nginx */
  viaRegguard: (r: Received) => boolean
}

export async function startNginxStack (t: { teardown: (fn: () => unknown) => void }, site: 'narrow' | 'full'): Promise<NginxStack> {
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, BLACKLISTING_POLICY)
  const ng = await startNginx(t, { site, regguardPort: rg.port, synapsePort: hs.port })
  return {
    hs,
    rg,
    ng,
    reset: () => { hs.received.length = 0; rg.logs.length = 0 },
    // nginx replaces any client X-Forwarded-For with the client address; regguard trusts
    // loopback and appends the address of its peer, nginx
    viaRegguard: (r) => r.headers['x-forwarded-for'] === '127.0.0.1, 127.0.0.1'
  }
}

/**
 * The checks both site configs share: for each prefix and endpoint, a denied requestToken never
 * reaches the homeserver and an allowed one arrives byte for byte, through regguard.
 */
export function policedPathChecks (t: Test, s: NginxStack, denied: string): void {
  const { hs, rg, ng } = s
  for (const prefix of ['r0', 'v3', 'unstable']) {
    for (const endpoint of ['register', 'account/3pid']) {
      const path = `/_matrix/client/${prefix}/${endpoint}/email/requestToken`

      t.test(`${prefix} ${endpoint}: a denied requestToken never reaches the homeserver`, async (t) => {
        s.reset()
        const res = await rawPost(ng.port, path, denied, { 'Content-Type': 'application/json' })
        t.equal(res.status, 403)
        t.match(res.headers['content-type'], /^application\/json/)
        t.equal(JSON.parse(res.body).errcode, 'M_THREEPID_DENIED')
        t.same(hs.received, [], 'homeserver saw nothing')
        const decisions = rg.logs.filter((l) => l.msg === 'policy decision')
        t.equal(decisions.length, 1, 'regguard decided once')
        t.match(decisions[0], { decision: 'deny', client_ip: '127.0.0.1' })
      })

      t.test(`${prefix} ${endpoint}: an allowed requestToken reaches the homeserver byte for byte`, async (t) => {
        s.reset()
        hs.respond(() => ({ status: 200, headers: { 'Content-Type': 'application/json', 'X-From': 'hs' }, body: '{"sid":"S1"}' }))
        t.teardown(() => hs.respond(defaultReply))
        const target = `${path}?x=1&y=%2F`
        const body = '{ "email" : "Alice@Sub.Example.org",  "client_secret":"abc", "send_attempt": 1 , "next_link":"https://x/é"}'
        const res = await rawPost(ng.port, target, body, { 'Content-Type': 'application/json', Authorization: 'Bearer tok', 'X-Client': 'one', 'X-Forwarded-For': '6.6.6.6' })
        t.equal(res.status, 200)
        t.equal(res.body, '{"sid":"S1"}')
        t.equal(res.headers['x-from'], 'hs')
        t.equal(hs.received.length, 1)
        const got = hs.received[0]!
        t.equal(got.method, 'POST')
        t.equal(got.url, target, 'request target exactly as sent')
        t.equal(got.body.toString(), body, 'body bytes unchanged')
        t.equal(got.headers.host, 'matrix.example.org')
        t.equal(got.headers.authorization, 'Bearer tok')
        t.equal(got.headers['x-client'], 'one')
        t.equal(got.headers['content-type'], 'application/json')
        t.ok(s.viaRegguard(got), 'came through regguard')
        t.notMatch(String(got.headers['x-forwarded-for']), /6\.6\.6\.6/, 'a client-supplied X-Forwarded-For is not believed')
      })
    }
  }
}
