import { connect } from 'node:net'
import type { LoadedConfig } from './config/load.js'
import type { AppContext } from './context.js'
import type { Logger } from './log.js'
import type { ListSide } from './policy/policy.js'

// What `regguard serve` says once it listens: the policy in force in one sentence, and a warning
// for each thing an operator would otherwise find out from users (a homeserver it cannot reach,
// an admin API that is off, a policy that lets nobody in, a live list it could not fetch).

function count (n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`
}

function sideWords (side: ListSide, color: string, mxSize: number, liveEntries: (url: string) => number): string[] {
  const out: string[] = []
  if (side.domains.size > 0) out.push(`${count(side.domains.entries, `${color}ed domain`)}${side.domainSources.some((s) => !s.startsWith('register.')) ? ' (list files included)' : ''}`)
  if (side.live.length > 0) out.push(`${count(side.live.length, `live ${color}`)} (${count(side.live.reduce((n, s) => n + liveEntries(s.url), 0), 'domain')})`)
  if (side.patterns.length > 0) out.push(count(side.patterns.length, `${color} pattern`))
  if (mxSize > 0) out.push(count(mxSize, `mail-server ${color} entry`, `mail-server ${color} entries`))
  return out
}

/** The policy in force, e.g. "email: 3 whitelisted domains, default deny; msisdn: default deny; invites on". */
export function policySentence (config: LoadedConfig, liveEntries: (url: string) => number = () => 0): string {
  const p = config.policy
  const verdict = p.allowed ? 'default allow' : 'default deny'
  const email = [
    ...sideWords(p.email.blacklist, 'blacklist', p.email.mx.blacklist.size, liveEntries),
    ...sideWords(p.email.whitelist, 'whitelist', p.email.mx.whitelist.size, liveEntries),
    ...(p.email.mx.require ? ['mail servers required'] : []),
    verdict
  ]
  const msisdn = [
    ...sideWords(p.msisdn.blacklist, 'blacklist', 0, liveEntries),
    ...sideWords(p.msisdn.whitelist, 'whitelist', 0, liveEntries),
    verdict
  ]
  const invites = p.invite ? `invites on${p.inviteOverridesBlacklist === true ? ' (before the blacklists, as ma1sd)' : ''}` : 'invites off'
  return `email: ${email.join(', ')}; msisdn: ${msisdn.join(', ')}; ${invites}`
}

/** Whether nothing can allow a 3PID: no default allow, no invites, no whitelist of any kind, no approval. */
export function deniesEverything (config: LoadedConfig): boolean {
  const p = config.policy
  if (p.allowed || p.invite) return false
  const allows = (side: ListSide): boolean => side.domains.size > 0 || side.live.length > 0 || side.patterns.length > 0
  if (allows(p.email.whitelist) || allows(p.msisdn.whitelist) || p.email.mx.whitelist.size > 0) return false
  return !config.settings.register.approval.enabled
}

function loopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host)
}

/** The warnings known from the configuration alone. */
export function configWarnings (config: LoadedConfig): string[] {
  const s = config.settings
  const out: string[] = []
  if (s.admin.token === '') out.push('the admin API is off (admin.token is empty): no console, no invites or decisions API; /health, /ready and /metrics still answer')
  if (!loopback(s.admin.host) && s.admin.token === '') out.push(`the admin listener is on ${s.admin.host}, not loopback, without admin.token: /ready and /metrics answer anyone who reaches it`)
  if (s.server.enabled && deniesEverything(config)) out.push('the policy denies every 3PID registration: register.policy.allowed and invite are false and no whitelist is set')
  return out
}

/** Logs the sentence and the warnings; the homeserver is asked once, in the background. */
export function reportStartup (config: LoadedConfig, ctx: AppContext, logger: Logger): void {
  const lists = ctx.lists.status()
  const entriesOf = (url: string): number => lists.find((l) => l.source === url)?.entries ?? 0
  logger.info({ policy: policySentence(config, entriesOf) }, `policy in force: ${policySentence(config, entriesOf)}`)
  for (const warning of configWarnings(config)) logger.warn(warning)
  // the lists' first fetches are over by now (serve waits for them before listening)
  for (const l of lists) {
    if (l.fetched_at === null && l.last_error !== null) logger.warn({ list: l.source, error: l.last_error }, `live list ${l.source}: the first fetch failed and there is no cached copy; serving without it until a fetch succeeds`)
  }
  const url = config.settings.homeserver.url
  void reachable(url).then((failure) => {
    if (failure !== null) logger.warn({ homeserver: url, failure }, `the homeserver at ${url} cannot be reached (${failure}): requests will get 502 until it can (homeserver.url)`)
  }, (err: unknown) => { logger.error({ err }, 'the start-up check of the homeserver failed') })
}

const CONNECT_TIMEOUT_MS = 5000

/**
 * Whether a TCP connection to the homeserver opens: null, or why not. A connection and no HTTP
 * request, so the homeserver's logs (and a test's stand-in) see no request regguard did not forward.
 */
export async function reachable (url: string): Promise<string | null> {
  const u = new URL(url)
  const port = u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80
  const host = u.hostname.replace(/^\[|\]$/g, '')
  return await new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (why: string | null): void => { socket.destroy(); resolve(why) }
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => { done(`no connection within ${CONNECT_TIMEOUT_MS} ms`) })
    socket.once('connect', () => { done(null) })
    socket.once('error', (err: NodeJS.ErrnoException) => { done(err.code ?? err.message) })
  })
}
