import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

// Prometheus metrics, one registry per app (so two apps in one process, as in tests, never
// share counters). Served on the admin listener at GET /metrics.

function sameLabels<L extends string> (names: readonly L[], a: Record<L, string>, b: Record<L, string>): boolean {
  for (const name of names) if (a[name] !== b[name]) return false
  return true
}

/**
 * A labelled counter counted on every request: inc() only adds to a tally kept by its label
 * values, handed to prom-client when the counter is read (a scrape), so a request costs one Map
 * lookup instead of prom-client's label hashing and validation.
 * Label values must come from small fixed sets, as for any Prometheus label.
 */
export class TalliedCounter<L extends string> {
  readonly counter: Counter<L>
  private readonly tallies = new Map<string, { labels: Record<L, string>, n: number }>()
  private readonly names: readonly L[]

  constructor (config: { name: string, help: string, labelNames: readonly L[], registers: Registry[] }) {
    const tallies = this.tallies
    this.counter = new Counter<L>({
      ...config,
      collect () {
        for (const t of tallies.values()) {
          if (t.n > 0) { this.inc(t.labels, t.n); t.n = 0 }
        }
      }
    })
    this.names = config.labelNames
  }

  /** The label set last counted and its tally: a flood of one decision skips the key */
  private last: { labels: Record<L, string>, tally: { n: number } } | null = null

  inc (labels: Record<L, string>): void {
    const last = this.last
    if (last !== null && sameLabels(this.names, labels, last.labels)) { last.tally.n++; return }
    let key = ''
    // length-prefixed: no two label sets make the same key, whatever the values hold
    for (const name of this.names) { const v = labels[name]; key += `${v.length}:${v}` }
    let t = this.tallies.get(key)
    if (t !== undefined) t.n++
    else this.tallies.set(key, t = { labels: { ...labels }, n: 1 })
    this.last = { labels: t.labels, tally: t }
  }
}

export class Metrics {
  readonly registry = new Registry()
  readonly decisions = new TalliedCounter({
    name: 'regguard_policy_decisions_total',
    help: 'Policy decisions on token requests and registrations',
    labelNames: ['endpoint', 'medium', 'result', 'rule'] as const,
    registers: [this.registry]
  })

  readonly upstreamSeconds = new Histogram({
    name: 'regguard_upstream_response_seconds',
    help: 'Time from forwarding a request to the homeserver until its response headers arrived',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry]
  })

  readonly upstreamErrors = new Counter({
    name: 'regguard_upstream_errors_total',
    help: 'Requests the homeserver did not answer, by kind (unreachable, timeout, aborted)',
    labelNames: ['kind'] as const,
    registers: [this.registry]
  })

  readonly rateLimited = new Counter({
    name: 'regguard_rate_limited_total',
    help: 'Requests refused with M_LIMIT_EXCEEDED, by limit (ip, address, concurrency)',
    labelNames: ['limit'] as const,
    registers: [this.registry]
  })

  readonly clientTimeouts = new Counter({
    name: 'regguard_client_timeouts_total',
    help: 'Requests cut because the client was too slow, by phase (headers, body)',
    labelNames: ['phase'] as const,
    registers: [this.registry]
  })

  readonly invitesRecorded = new Counter({
    name: 'regguard_invites_recorded_total',
    help: 'Pending 3PID invites recorded, by source (traffic, admin, import)',
    labelNames: ['source'] as const,
    registers: [this.registry]
  })

  readonly invitesNotLearned = new Counter({
    name: 'regguard_invites_not_learned_total',
    help: 'Addresses in 3PID invites the homeserver accepted that were not learned, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry]
  })

  readonly decisionsDropped = new Counter({
    name: 'regguard_decision_history_dropped_total',
    help: 'Decisions left out of the history, by reason (queue_full: the oldest waiting, to make room; store_error: a batch the store refused; max_rows: the oldest in the history, past audit.max_rows)',
    labelNames: ['reason'] as const,
    registers: [this.registry]
  })

  readonly storeErrors = new Counter({
    name: 'regguard_store_errors_total',
    help: 'Store calls that failed or timed out (storage.url unreachable), by operation',
    labelNames: ['operation'] as const,
    registers: [this.registry]
  })

  readonly configReloads = new Counter({
    name: 'regguard_config_reloads_total',
    help: 'Configuration reloads (SIGHUP), by result (ok, refused)',
    labelNames: ['result'] as const,
    registers: [this.registry]
  })

  readonly listRefreshes = new Counter({
    name: 'regguard_list_refreshes_total',
    help: 'Refreshes of the live domain lists (*_urls), by result (ok, not_modified, error, refused)',
    labelNames: ['result'] as const,
    registers: [this.registry]
  })

  readonly listEntries = new Gauge({
    name: 'regguard_list_entries',
    help: 'Entries of each live domain list in force',
    labelNames: ['list'] as const,
    registers: [this.registry]
  })

  readonly notifications = new Counter({
    name: 'regguard_notifications_total',
    help: 'Notices to the operators (notify.matrix, notify.webhook), by channel and result (sent, retried: an attempt failed and another is due, failed: given up after notify.attempts, dropped: the queue was full, or regguard stopped, rate_limited: a denial past notify.denials_per_hour, not queued)',
    labelNames: ['channel', 'result'] as const,
    registers: [this.registry]
  })

  readonly mxLookups = new Counter({
    name: 'regguard_mx_lookups_total',
    help: 'Mail-server lookups for the mx rules, by result (hosts, no_mail, failed, cached, over_cap: not made, past dns.max_lookups or dns.max_lookups_per_client)',
    labelNames: ['result'] as const,
    registers: [this.registry]
  })

  readonly masPushes = new Counter({
    name: 'regguard_mas_pushes_total',
    help: 'Pushes of the policy data to MAS (mas.url), by result (ok, refused: MAS answered 400 and kept its data, error: MAS not reached or the token refused)',
    labelNames: ['result'] as const,
    registers: [this.registry]
  })

  constructor (opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'regguard_' })
  }
}
