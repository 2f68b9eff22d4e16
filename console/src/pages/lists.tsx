import { useEffect, useState } from 'preact/hooks'
import { get, readiness, type Policy, type Side } from '../api'
import { errorText, when } from '../format'

// Each list's source, size and last refresh. Lists read from the configuration (and its files)
// come from the policy; live lists, where this regguard has them, are reported by /ready.

interface Row { list: string, source: string, size: string, refreshed: string }

function staticRows (p: Policy): Row[] {
  const rows: Row[] = []
  const add = (name: string, side: Side, domains: boolean): void => {
    if (domains && side.domains > 0) rows.push({ list: `${name} domains`, source: side.domain_sources.join(', '), size: String(side.domains), refreshed: 'at start-up or reload' })
    if (side.patterns.length > 0) rows.push({ list: `${name} patterns`, source: 'configuration', size: String(side.patterns.length), refreshed: 'at start-up or reload' })
  }
  add('email whitelist', p.email.whitelist, true)
  add('email blacklist', p.email.blacklist, true)
  add('phone whitelist', p.msisdn.whitelist, false)
  add('phone blacklist', p.msisdn.blacklist, false)
  return rows
}

/** Whatever shape /ready gives its live lists (an array or a map of objects), as rows. */
export function liveRows (lists: unknown): Row[] {
  const entries: Array<[string, Record<string, unknown>]> = Array.isArray(lists)
    ? lists.map((l, i) => [String((l as Record<string, unknown>).name ?? i), l as Record<string, unknown>])
    : typeof lists === 'object' && lists !== null ? Object.entries(lists as Record<string, Record<string, unknown>>) : []
  const pick = (o: Record<string, unknown>, keys: string[]): unknown => keys.map((k) => o[k]).find((v) => v !== undefined)
  return entries.map(([name, l]) => {
    const refreshed = pick(l, ['refreshed_at', 'last_refresh', 'loaded_at', 'updated_at'])
    return {
      list: name,
      source: String(pick(l, ['source', 'url', 'file', 'path']) ?? '—'),
      size: String(pick(l, ['size', 'entries', 'count']) ?? '—'),
      refreshed: typeof refreshed === 'number' ? when(refreshed) : String(refreshed ?? pick(l, ['status', 'state']) ?? '—')
    }
  })
}

export function Lists (): preact.JSX.Element {
  const [rows, setRows] = useState<Row[] | null>(null)
  const [live, setLive] = useState<Row[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    get<Policy>('policy').then((p) => setRows(staticRows(p)), (e) => setError(errorText(e)))
    readiness().then((r) => setLive(r.lists === undefined ? null : liveRows(r.lists)), () => setLive(null))
  }, [])
  const table = (id: string, caption: string, data: Row[]): preact.JSX.Element => (
    <table id={id}>
      <caption>{caption}</caption>
      <thead><tr><th scope="col">List</th><th scope="col">Source</th><th scope="col">Size</th><th scope="col">Last refresh</th></tr></thead>
      <tbody>{data.map((r) => <tr key={r.list}><th scope="row">{r.list}</th><td class="addr">{r.source}</td><td>{r.size}</td><td>{r.refreshed}</td></tr>)}</tbody>
    </table>
  )
  return (
    <>
      {error !== null && <p class="error" role="alert">{error}</p>}
      <section aria-labelledby="live-title">
        <h2 id="live-title">Live lists</h2>
        {live === null ? <p class="muted" id="no-live-lists">This regguard reports no live lists (none configured, or a version without them).</p> : table('live-lists', 'Lists refreshed while running', live)}
      </section>
      <section aria-labelledby="config-title">
        <h2 id="config-title">Lists from the configuration</h2>
        {rows === null ? <p>Loading…</p> : rows.length === 0 ? <p class="muted">No list entries: the default decides every address.</p> : table('config-lists', 'Lists read from the configuration and its files', rows)}
      </section>
    </>
  )
}
