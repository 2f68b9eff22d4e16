import convict from 'convict'
import { parseServer } from '../dns/servers.js'
import type { Branch, Leaf } from './schema.js'

// The schema's keys for live domain lists and mail-server checks (issue 10, sections 1 and 2),
// kept apart from schema.ts so that file only places them.

const list = (doc: string, format = 'string-list'): Leaf => ({ doc, format, default: [] })

/** register.policy.threepid.email.domain.{whitelist,blacklist}_urls */
export function liveListKeys (): Branch {
  return {
    whitelist_urls: list('HTTP(S) sources of whitelisted domains, one a line ("#" comments), refreshed every lists.refresh; the last good copy is kept in lists.cache_dir.', 'http-source-list'),
    blacklist_urls: list('HTTP(S) sources of blacklisted domains (e.g. the disposable-email-domains list), one a line; refreshed and cached as whitelist_urls.', 'http-source-list')
  }
}

/** register.policy.threepid.email.mx */
export function mxKeys (): Branch {
  return {
    require: { doc: 'Deny an email domain that cannot receive mail: a null MX (RFC 7505), no such domain, or no MX and no A/AAAA.', format: 'boolean', default: false },
    blacklist: list('Mail-server host names that deny the domains whose MX (any of them) they are, in the domain-list syntax: "*mx.example", ".mx.example", "mx.example".'),
    whitelist: list('Mail-server host names that allow the domains all of whose MX they are, same syntax.'),
    on_error: { doc: 'When the DNS lookup fails (timeout, SERVFAIL): "deny" answers 503, a temporary error; "allow" skips the mail-server rules and the other rules decide.', format: 'mx-on-error', default: 'deny' }
  }
}

export function listsBranch (): Branch {
  return {
    refresh: { doc: 'How often the *_urls lists are fetched again (conditional: ETag / If-Modified-Since).', format: 'positive-duration', default: 21600000, sampleValue: '6 hours' },
    timeout_ms: { doc: 'How long one fetch of a list may take, body included.', format: 'nat', default: 30000 },
    max_bytes: { doc: 'Largest list body accepted; a larger one is refused and the old copy kept.', format: 'nat', default: 33554432 },
    cache_dir: { doc: 'Where the last good copy of each list is kept, so a restart without network keeps the lists (relative to the working directory).', format: String, default: './data/lists' }
  }
}

export function dnsBranch (): Branch {
  return {
    servers: list('DNS servers for the mail-server checks: "IP" or "IP:PORT" ("[IPv6]:PORT"). Empty: the system\'s (resolv.conf).', 'dns-server-list'),
    timeout_ms: { doc: 'How long one lookup may take in all (servers are tried in turn within it); past it register.policy.threepid.email.mx.on_error applies.', format: 'nat', default: 3000 },
    failure_ttl_ms: { doc: 'How long a failed lookup (timeout, SERVFAIL, an answer too long to read) is remembered before the domain is asked again, and the least time a negative answer (no such domain, no mail) is kept whatever its TTL (0: failures are not kept).', format: 'nat', default: 15000 },
    max_lookups: { doc: 'Most lookups made at once in all (requests for a domain already being looked up wait for that one). A lookup beyond it is not made and counts as a failed one: register.policy.threepid.email.mx.on_error applies, as on a timeout (0: no limit).', format: 'nat', default: 32 },
    max_lookups_per_client: { doc: 'Most lookups one client IP (IPv6 by its register.rate_limit.ipv6_prefix network) may have made at once; beyond it as dns.max_lookups (0: no limit).', format: 'nat', default: 4 }
  }
}

let added = false
export function addListFormats (): void {
  if (added) return
  added = true
  convict.addFormat({
    name: 'http-source-list',
    validate (v: unknown) {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error('must be a list of http:// or https:// URLs')
      for (const s of v as string[]) {
        let u: URL
        try { u = new URL(s) } catch { throw new Error(`must be http:// or https:// URLs, got ${JSON.stringify(s)}`) }
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`must be http:// or https:// URLs, got ${JSON.stringify(s)}`)
      }
    },
    coerce (v: unknown) { return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v }
  })
  convict.addFormat({
    name: 'dns-server-list',
    validate (v: unknown) {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error('must be a list of "IP" or "IP:PORT"')
      for (const s of v as string[]) if (parseServer(s) === null) throw new Error(`must be "IP" or "IP:PORT" ("[IPv6]:PORT"), got ${JSON.stringify(s)}`)
    },
    coerce (v: unknown) { return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v }
  })
  convict.addFormat({
    name: 'mx-on-error',
    validate (v: unknown) {
      if (v !== 'deny' && v !== 'allow') throw new Error(`must be "deny" or "allow", got ${JSON.stringify(v)}`)
    }
  })
}
