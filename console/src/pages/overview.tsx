import { useEffect, useMemo, useState } from 'preact/hooks'
import { get, readiness, type Policy, type Side, type Summary } from '../api'
import { DecisionChart, toSeries } from '../chart'
import { duration, errorText } from '../format'
import { LiveTable, liveRows } from './lists'
import { AutoRefresh, RANGES, RangePicker } from '../refresh'

// One screen: decisions per hour over a chosen range, whether the homeserver, the store and the
// live lists answer (a failing list shown here, not only on the Lists page), and the policy in force.

function SideText (props: { side: Side, domains: boolean }): preact.JSX.Element {
  const { side } = props
  const parts: string[] = []
  if (props.domains) parts.push(`${side.domains} domain${side.domains === 1 ? '' : 's'}${side.domain_sources.length > 0 ? ` (${side.domain_sources.join(', ')})` : ''}`)
  if (side.patterns.length > 0) parts.push(`patterns: ${side.patterns.join('  ')}`)
  return <>{parts.length === 0 ? 'empty' : parts.join('; ')}</>
}

export function PolicyPanel (props: { policy: Policy }): preact.JSX.Element {
  const p = props.policy
  return (
    <dl class="facts">
      <dt>Order</dt><dd>{p.invite && p.invite_overrides_blacklist === true ? 'pending invite, then blacklist' : p.invite ? 'blacklist, then pending invite' : 'blacklist'}, then whitelist, then the default</dd>
      <dt>Default</dt><dd>{p.allowed ? 'allow' : 'deny'}</dd>
      <dt>Invites allow</dt><dd>{p.invite ? `yes (pending for ${duration(p.invites_ttl_ms)})` : 'no'}</dd>
      <dt>Email whitelist</dt><dd><SideText side={p.email.whitelist} domains /></dd>
      <dt>Email blacklist</dt><dd><SideText side={p.email.blacklist} domains /></dd>
      <dt>Phone whitelist</dt><dd><SideText side={p.msisdn.whitelist} domains={false} /></dd>
      <dt>Phone blacklist</dt><dd><SideText side={p.msisdn.blacklist} domains={false} /></dd>
      <dt>/account/3pid policed</dt><dd>{p.only_check_at_registration ? 'no (only_check_at_registration)' : 'yes'}</dd>
      <dt>3PID required</dt><dd>{p.require_3pid ? 'yes' : 'no'}</dd>
      <dt>Rate limits</dt><dd>{p.rate_limit === null ? 'off' : `${p.rate_limit.per_ip.max} per IP / ${duration(p.rate_limit.per_ip.window)}, ${p.rate_limit.per_address.max} per address / ${duration(p.rate_limit.per_address.window)}`}</dd>
      <dt>History kept</dt><dd>{duration(p.audit_retention_ms)}{p.full_addresses ? ', whole addresses' : ', addresses redacted'}</dd>
      <dt>Configuration</dt><dd>{p.config_file ?? '(not from a file)'} · server_name {p.server_name}</dd>
    </dl>
  )
}

export function Overview (): preact.JSX.Element {
  const [summary, setSummary] = useState<Summary | null>(null)
  const [policy, setPolicy] = useState<Policy | null>(null)
  const [ready, setReady] = useState<Record<string, unknown> | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [hours, setHours] = useState(24)
  const load = (): void => {
    setError(null)
    get<Summary>('decisions/summary', { hours: String(hours) }).then(setSummary, (e) => setError(errorText(e)))
    get<Policy>('policy').then(setPolicy, (e) => setError(errorText(e)))
    readiness().then(setReady, (e) => setReady({ status: `unreachable: ${errorText(e)}` }))
  }
  useEffect(load, [hours])
  const range = RANGES.find((r) => r.hours === hours)?.label ?? `${hours} hours`
  const live = Array.isArray(ready?.lists) ? liveRows(ready.lists) : []
  const failing = live.filter((l) => l.failing)
  const data = useMemo(() => summary === null ? null : toSeries(summary.buckets, summary.from, summary.hours), [summary])
  const total = summary?.buckets.reduce((n, b) => n + b.count, 0) ?? 0
  return (
    <>
      <div class="filters">
        <RangePicker hours={hours} onChange={setHours} />
        <button type="button" class="secondary" onClick={load}>Refresh</button>
        <AutoRefresh onTick={load} />
      </div>
      {error !== null && <p class="error" role="alert">{error}</p>}
      <section aria-labelledby="chart-title">
        <h2 id="chart-title">Decisions per hour, last {range}</h2>
        {data === null ? <p>Loading…</p> : total === 0 ? <p id="no-decisions">No decisions in the last {range}.</p> : (
          <>
            <DecisionChart xs={data.xs} series={data.series} />
            <details>
              <summary>The same numbers as a table</summary>
              <table>
                <caption>Decisions in the last {range} by result and rule</caption>
                <thead><tr><th scope="col">Result · rule</th><th scope="col">Total</th></tr></thead>
                <tbody>{data.series.map((s) => <tr key={s.key}><th scope="row">{s.key}</th><td>{s.values.reduce((a, b) => a + b, 0)}</td></tr>)}</tbody>
              </table>
            </details>
          </>
        )}
      </section>
      <section aria-labelledby="status-title">
        <h2 id="status-title">Status</h2>
        <dl class="facts" id="status">
          <dt>Ready</dt><dd>{String(ready?.status ?? '…')}</dd>
          <dt>Homeserver</dt><dd class={ready?.homeserver === 'ok' ? 'ok' : 'bad'}>{String(ready?.homeserver ?? '…')}</dd>
          <dt>Store</dt><dd class={ready?.store === 'ok' ? 'ok' : 'bad'}>{String(ready?.store ?? '…')}</dd>
          <dt>Live lists</dt><dd id="live-status" class={failing.length > 0 ? 'bad' : live.length > 0 ? 'ok' : undefined}>{live.length === 0 ? 'none configured' : failing.length === 0 ? `${live.length} ok` : `${failing.length} of ${live.length} failing`}</dd>
          <dt>History</dt><dd>{summary === null ? '…' : `${summary.history.written} written, ${summary.history.queued} waiting, ${summary.history.dropped} dropped since start`}</dd>
        </dl>
      </section>
      {failing.length > 0 && (
        <section aria-labelledby="failing-title">
          <h2 id="failing-title">Failing live lists</h2>
          <p class="error" role="alert">A live list could not be refreshed: regguard keeps using its last good copy (or none, if it never had one).</p>
          <LiveTable id="failing-lists" rows={failing} />
        </section>
      )}
      <section aria-labelledby="policy-title">
        <h2 id="policy-title">Policy in force</h2>
        {policy === null ? <p>Loading…</p> : <PolicyPanel policy={policy} />}
      </section>
    </>
  )
}
