import { useEffect, useState } from 'preact/hooks'
import { get, type Decision, type Summary } from '../api'
import { errorText, when } from '../format'
import { AutoRefresh, RANGES, RangePicker } from '../refresh'

// The decision history, newest first, with the API's filters. The range is applied here: pages
// come newest first, so rows older than the range are not shown and no older page is offered.

interface Filters { result: string, rule: string, medium: string, domain: string, address: string }
const EMPTY: Filters = { result: '', rule: '', medium: '', domain: '', address: '' }
// the rules regguard writes; the picker adds any other the summary of the range names
const RULES = ['blacklist', 'invite', 'whitelist', 'default', 'mx_require', 'mx_error', 'session', 'require_3pid', 'username', 'requester']

export function Decisions (): preact.JSX.Element {
  const [draft, setDraft] = useState<Filters>(EMPTY)
  const [filters, setFilters] = useState<Filters>(EMPTY)
  const [rows, setRows] = useState<Decision[] | null>(null)
  const [next, setNext] = useState<string | undefined>(undefined)
  const [error, setError] = useState<string | null>(null)
  const [loadedAt, setLoadedAt] = useState<number | null>(null)
  const [hours, setHours] = useState(24)
  const [seen, setSeen] = useState<string[]>([])
  const since = (): number => Date.now() - hours * 3_600_000
  const load = async (f: Filters, from?: string): Promise<void> => {
    setError(null)
    try {
      // an address is looked up with its medium: an "@" makes it an email address
      const medium = f.address !== '' && f.medium === '' ? (f.address.includes('@') ? 'email' : 'msisdn') : f.medium
      const page = await get<{ decisions: Decision[], next_from?: string }>('decisions', { ...f, medium, limit: '50', from })
      const start = since()
      const inRange = page.decisions.filter((d) => d.at >= start)
      setRows((old) => from === undefined ? inRange : [...(old ?? []), ...inRange])
      // an older page would be past the range once this one already reaches out of it
      setNext(inRange.length < page.decisions.length ? undefined : page.next_from)
      setLoadedAt(Date.now())
    } catch (e) { setError(errorText(e)) }
  }
  useEffect(() => { void load(filters) }, [filters, hours])
  // the rules of the range, asked again with every load: the picker marks the others
  const loadRules = (): void => {
    get<Summary>('decisions/summary', { hours: String(hours) }).then((sum) => { setSeen([...new Set(sum.buckets.map((b) => b.rule))]) }, () => { setSeen([]) })
  }
  useEffect(loadRules, [hours, loadedAt])
  const rules = [...new Set([...RULES, ...seen])]
  const shownCount = rows?.reduce((n, d) => n + d.count, 0) ?? 0
  const range = RANGES.find((r) => r.hours === hours)?.label ?? `${hours} hours`
  const field = (k: keyof Filters) => (e: Event): void => setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value })
  return (
    <>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); setFilters({ ...draft }) }} aria-label="Filter decisions">
        <label>Result
          <select name="result" value={draft.result} onChange={field('result')}>
            <option value="">any</option><option value="allow">allow</option><option value="deny">deny</option>
          </select>
        </label>
        <label>Rule
          <select name="rule" value={draft.rule} onChange={field('rule')}>
            <option value="">any</option>
            {rules.map((r) => <option key={r} value={r}>{r}{seen.includes(r) ? '' : ' (none in range)'}</option>)}
          </select>
        </label>
        <label>Medium
          <select name="medium" value={draft.medium} onChange={field('medium')}>
            <option value="">any</option><option value="email">email</option><option value="msisdn">phone</option><option value="none">none</option>
          </select>
        </label>
        <label>Email domain
          <input name="domain" value={draft.domain} onInput={field('domain')} placeholder="example.org" size={18} />
        </label>
        <label>Address
          <input name="address" value={draft.address} onInput={field('address')} placeholder="alice@example.org or 4477…" size={22} />
        </label>
        <RangePicker hours={hours} onChange={setHours} />
        <button type="submit">Filter</button>
        <button type="button" class="secondary" onClick={() => { void load(filters) }}>Refresh</button>
        <AutoRefresh onTick={() => { void load(filters) }} />
      </form>
      {error !== null && <p class="error" role="alert">{error}</p>}
      <p class="muted" role="status">{rows === null ? 'Loading…' : `${rows.length} rows (${shownCount.toLocaleString()} decisions) in the last ${range}${next !== undefined ? ', more below' : ''}${loadedAt !== null ? `, loaded ${when(loadedAt)}` : ''}`}</p>
      {rows !== null && rows.length > 0 && (
        <div class="scroll">
        <table id="decisions">
          <caption>Policy decisions, newest first (identical ones folded into one row, with their count)</caption>
          <thead><tr><th scope="col">Time</th><th scope="col">Endpoint</th><th scope="col">Medium</th><th scope="col">Address</th><th scope="col">Result</th><th scope="col">Count</th><th scope="col">Rule</th><th scope="col">Detail</th><th scope="col">Client IP</th></tr></thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id}>
                <td>{when(d.at)}</td><td>{d.endpoint}</td><td>{d.medium}</td><td class="addr">{d.address ?? '—'}</td>
                <td><span class={`pill ${d.result}`}>{d.result}</span></td><td class="repeats">{d.count.toLocaleString()}</td><td>{d.rule}</td><td>{d.detail}</td><td>{d.client_ip}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      {next !== undefined && <p><button type="button" class="secondary" onClick={() => { void load(filters, next) }}>Load older</button></p>}
    </>
  )
}
