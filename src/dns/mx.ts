import { getServers } from 'node:dns'
import { canonicalDomain } from '../synapse/canonical.js'
import { clientKey } from '../ratelimit/client-key.js'
import type { MxFacts } from '../policy/mx-rules.js'
import type { Settings } from '../config/settings.js'
import type { QueryResult, QueryType } from './client.js'
import { parseServer, type DnsServer } from './servers.js'

// Where a domain's mail goes, as the mail-server rules need it, with answers kept for their TTL.

/** No answer is kept longer than this, whatever its TTL says (a list changes; so does DNS). */
export const MAX_CACHE_SECONDS = 3600
/** Past this many domains the cache starts again (a scan of random domains cannot grow it). */
const MAX_CACHE_ENTRIES = 10_000
/** Answers without a usable TTL (a negative answer without SOA) are kept no longer than this. */
const NEGATIVE_TTL_DEFAULT = 60

// The DNS client (dns-packet, node:dgram) is loaded by the first lookup: with no mail-server
// rule configured (the default) there is none, and it is about 0.5 MB of idle RSS.
let client: Promise<typeof import('./client.js')> | undefined
async function query (servers: DnsServer[], name: string, type: QueryType, deadline: number): Promise<QueryResult> {
  // a failed load (a broken installation) is tried again by the next lookup
  client ??= import('./client.js').catch((err: unknown) => { client = undefined; throw err })
  return await (await client).query(servers, name, type, deadline)
}

export type MxLookup = (domain: string) => Promise<MxFacts>

/**
 * A lookup over dns.max_lookups or dns.max_lookups_per_client is not made: it is answered as a
 * lookup that failed, so register.policy.threepid.email.mx.on_error decides, exactly as on a DNS
 * timeout (deny: a temporary refusal the client may retry; allow: the other rules decide).
 */
export const OVER_CAP: MxFacts = Object.freeze({ kind: 'failed', why: 'too many DNS lookups at once' })

interface Cached { facts: MxFacts, expiresAt: number }

export interface MxCounters { inc: (labels: { result: string }) => void }

function minTtl (...ttls: Array<number | null>): number {
  const known = ttls.filter((t): t is number => t !== null)
  return known.length === 0 ? NEGATIVE_TTL_DEFAULT : Math.min(...known)
}

const hostName = (exchange: string): string => {
  const bare = exchange.replace(/\.$/, '').toLowerCase()
  return canonicalDomain(bare) ?? bare
}

export class MxResolver {
  private servers: DnsServer[] = []
  private timeoutMs = 3000
  private failureTtlMs = 0
  private maxLookups = 0
  private maxPerClient = 0
  private key = ''
  private cache = new Map<string, Cached>()
  private inFlight = new Map<string, Promise<MxFacts>>()
  /** Lookups being made for each client (its lookups that joined another's are not counted) */
  private readonly perClient = new Map<string, number>()

  constructor (dns: Settings['dns'], private readonly counters?: MxCounters) {
    this.configure(dns)
  }

  /** New settings; the cache is kept unless the servers changed. */
  configure (dns: Settings['dns']): void {
    const configured = dns.servers.length > 0 ? dns.servers : getServers()
    const servers = configured.map(parseServer).filter((s): s is DnsServer => s !== null)
    const key = JSON.stringify(servers)
    if (key !== this.key) this.cache.clear()
    this.key = key
    this.servers = servers
    this.timeoutMs = dns.timeout_ms
    this.failureTtlMs = dns.failure_ttl_ms
    this.maxLookups = dns.max_lookups
    this.maxPerClient = dns.max_lookups_per_client
  }

  /** Lookups being made now (each asks DNS up to three questions) */
  get active (): number { return this.inFlight.size }

  /** A lookup with no client of its own (the admin API, the CLI): only dns.max_lookups holds */
  readonly lookup: MxLookup = async (domain) => await this.lookupAs(null, domain)

  /** The lookups of one client, counted as the rate limits count it, under dns.max_lookups_per_client too */
  lookupFor (ip: string, ipv6Prefix: number): MxLookup {
    const client = clientKey(ip, ipv6Prefix)
    return async (domain) => await this.lookupAs(client, domain)
  }

  private async lookupAs (client: string | null, domain: string): Promise<MxFacts> {
    const now = Date.now()
    const hit = this.cache.get(domain)
    if (hit !== undefined && hit.expiresAt > now) {
      this.counters?.inc({ result: 'cached' })
      return hit.facts
    }
    // concurrent requests for one domain share one lookup
    const pending = this.inFlight.get(domain)
    if (pending !== undefined) return await pending
    if (this.maxLookups > 0 && this.inFlight.size >= this.maxLookups) return this.overCap()
    const mine = client === null ? 0 : this.perClient.get(client) ?? 0
    if (client !== null && this.maxPerClient > 0 && mine >= this.maxPerClient) return this.overCap()
    if (client !== null) this.perClient.set(client, mine + 1)
    const asked = this.ask(domain).finally(() => {
      this.inFlight.delete(domain)
      if (client === null) return
      const left = (this.perClient.get(client) ?? 1) - 1
      if (left <= 0) this.perClient.delete(client)
      else this.perClient.set(client, left)
    })
    this.inFlight.set(domain, asked)
    return await asked
  }

  private overCap (): MxFacts {
    this.counters?.inc({ result: 'over_cap' })
    return OVER_CAP
  }

  private async ask (domain: string): Promise<MxFacts> {
    const { facts, ttl } = await mailHosts(this.servers, domain, Date.now() + this.timeoutMs)
    this.counters?.inc({ result: facts.kind === 'hosts' ? 'hosts' : facts.kind === 'no-mail' ? 'no_mail' : 'failed' })
    // a failure (a timeout, SERVFAIL, an answer too long to read) is kept for dns.failure_ttl_ms,
    // and a negative answer at least that long: asking a name server that has just failed again
    // at once, for each request naming the domain, is the load the cache is there to spare
    const keepMs = facts.kind === 'failed'
      ? this.failureTtlMs
      : facts.kind === 'no-mail' ? Math.max(Math.min(ttl, MAX_CACHE_SECONDS) * 1000, this.failureTtlMs) : Math.min(ttl, MAX_CACHE_SECONDS) * 1000
    if (keepMs > 0) {
      if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear()
      this.cache.set(domain, { facts, expiresAt: Date.now() + keepMs })
    }
    return facts
  }
}

/**
 * RFC 5321 5.1: the MX hosts; a single "." MX is RFC 7505's "no mail"; without MX records, the
 * domain itself when it has an address (A or AAAA). No such domain receives no mail.
 */
export async function mailHosts (servers: DnsServer[], domain: string, deadline: number): Promise<{ facts: MxFacts, ttl: number }> {
  const mx = await query(servers, domain, 'MX', deadline)
  if (!mx.ok) return { facts: { kind: 'failed', why: mx.why }, ttl: 0 }
  if (mx.rcode === 'NXDOMAIN') return { facts: { kind: 'no-mail', why: 'no such domain' }, ttl: minTtl(mx.ttl) }
  if (mx.records.length > 0) {
    const exchanges = mx.records.map((r) => String((r.data as { exchange?: unknown }).exchange ?? ''))
    // RFC 7505 forbids a null MX beside other MX records; where both appear, the domain has
    // still said it takes no mail
    if (exchanges.some((e) => e === '.' || e === '')) return { facts: { kind: 'no-mail', why: 'null MX (RFC 7505)' }, ttl: minTtl(mx.ttl) }
    return { facts: { kind: 'hosts', hosts: [...new Set(exchanges.map(hostName))], implicit: false }, ttl: minTtl(mx.ttl) }
  }
  const [a, aaaa] = await Promise.all([query(servers, domain, 'A', deadline), query(servers, domain, 'AAAA', deadline)])
  const has = (r: QueryResult): boolean => r.ok && r.records.length > 0
  if (has(a) || has(aaaa)) {
    const ttls = [a, aaaa].filter(has).map((r) => (r as { ttl: number | null }).ttl)
    return { facts: { kind: 'hosts', hosts: [domain], implicit: true }, ttl: minTtl(mx.ttl, ...ttls) }
  }
  const failed = [a, aaaa].find((r) => !r.ok) as { why: string } | undefined
  if (failed !== undefined) return { facts: { kind: 'failed', why: failed.why }, ttl: 0 }
  return { facts: { kind: 'no-mail', why: 'no MX and no A/AAAA' }, ttl: minTtl(mx.ttl, (a as { ttl: number | null }).ttl, (aaaa as { ttl: number | null }).ttl) }
}
