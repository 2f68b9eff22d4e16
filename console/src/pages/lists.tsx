import { useEffect, useState } from 'preact/hooks'
import { get, readiness, type Policy, type Side } from '../api'
import { errorText, when } from '../format'

// Each list's source, entries and last refresh. Lists read from the configuration (and its
// files) come from the policy; live lists are reported by /ready (its `lists`), last error included.

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

/** One live list as GET /ready reports it (src/lists/live.ts ListStatus). */
export interface LiveList {
  source: string
  sides: string[]
  entries: number
  fetched_at: string | null
  age_seconds: number | null
  checked_at: string | null
  last_result: string | null
  last_error: string | null
  last_error_at: string | null
}

export interface LiveRow { list: string, source: string, entries: string, fetched: string, error: string | null, failing: boolean }

/** A live list is failing when its last refresh failed, or when it never had a copy at all. */
export function liveRows (lists: unknown): LiveRow[] {
  if (!Array.isArray(lists)) return []
  return (lists as LiveList[]).map((l) => ({
    list: `email ${Array.isArray(l.sides) ? l.sides.join(' + ') : '?'} (live)`,
    source: String(l.source),
    entries: l.fetched_at === null ? 'no copy' : Number(l.entries).toLocaleString('en-US'),
    fetched: l.fetched_at === null ? 'never' : `${when(Date.parse(l.fetched_at))}${l.age_seconds !== null ? ` (${ago(l.age_seconds)})` : ''}`,
    error: l.last_error === null ? null : `${l.last_error}${l.last_error_at !== null ? ` (${when(Date.parse(l.last_error_at))})` : ''}`,
    failing: l.last_error !== null || l.fetched_at === null
  }))
}

function ago (seconds: number): string {
  if (seconds < 120) return `${seconds} s ago`
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h ago`
  return `${Math.round(seconds / 86_400)} days ago`
}

/** The live lists' table, on this page and on the overview. */
export function LiveTable (props: { id: string, rows: LiveRow[] }): preact.JSX.Element {
  return (
    <div class="scroll">
      <table id={props.id}>
        <caption>Lists fetched while running: source, entries, last fetch, last error</caption>
        <thead><tr><th scope="col">List</th><th scope="col">Source</th><th scope="col">Entries</th><th scope="col">Last fetch</th><th scope="col">Last error</th></tr></thead>
        <tbody>{props.rows.map((r) => (
          <tr key={r.source} class={r.failing ? 'failing' : undefined}>
            <th scope="row">{r.list}</th><td class="addr">{r.source}</td><td>{r.entries}</td><td>{r.fetched}</td>
            <td class={r.error !== null ? 'bad' : 'muted'}>{r.error ?? 'none'}</td>
          </tr>
        ))}</tbody>
      </table>
    </div>
  )
}

export function Lists (): preact.JSX.Element {
  const [rows, setRows] = useState<Row[] | null>(null)
  const [live, setLive] = useState<LiveRow[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    get<Policy>('policy').then((p) => setRows(staticRows(p)), (e) => setError(errorText(e)))
    readiness().then((r) => setLive(Array.isArray(r.lists) && r.lists.length > 0 ? liveRows(r.lists) : null), () => setLive(null))
  }, [])
  const table = (id: string, caption: string, data: Row[]): preact.JSX.Element => (
    <div class="scroll">
      <table id={id}>
        <caption>{caption}</caption>
        <thead><tr><th scope="col">List</th><th scope="col">Source</th><th scope="col">Entries</th><th scope="col">Read</th></tr></thead>
        <tbody>{data.map((r) => <tr key={r.list}><th scope="row">{r.list}</th><td class="addr">{r.source}</td><td>{r.size}</td><td>{r.refreshed}</td></tr>)}</tbody>
      </table>
    </div>
  )
  return (
    <>
      {error !== null && <p class="error" role="alert">{error}</p>}
      <section aria-labelledby="live-title">
        <h2 id="live-title">Live lists</h2>
        {live === null ? <p class="muted" id="no-live-lists">No live lists are configured (register.policy.threepid.email.domain.*_urls).</p> : <LiveTable id="live-lists" rows={live} />}
      </section>
      <section aria-labelledby="config-title">
        <h2 id="config-title">Lists from the configuration</h2>
        {rows === null ? <p>Loading…</p> : rows.length === 0 ? <p class="muted">No list entries: the default decides every address.</p> : table('config-lists', 'Lists read from the configuration and its files', rows)}
      </section>
    </>
  )
}
