import { useEffect, useState } from 'preact/hooks'
import { get, type Decision } from '../api'
import { errorText, when } from '../format'

// The decision history, newest first, with the API's filters.

interface Filters { result: string, rule: string, medium: string, domain: string }
const EMPTY: Filters = { result: '', rule: '', medium: '', domain: '' }
const RULES = ['invite', 'blacklist', 'whitelist', 'default', 'session', 'require_3pid']

export function Decisions (): preact.JSX.Element {
  const [draft, setDraft] = useState<Filters>(EMPTY)
  const [filters, setFilters] = useState<Filters>(EMPTY)
  const [rows, setRows] = useState<Decision[] | null>(null)
  const [next, setNext] = useState<string | undefined>(undefined)
  const [error, setError] = useState<string | null>(null)
  const [loadedAt, setLoadedAt] = useState<number | null>(null)
  const load = async (f: Filters, from?: string): Promise<void> => {
    setError(null)
    try {
      const page = await get<{ decisions: Decision[], next_from?: string }>('decisions', { ...f, limit: '50', from })
      setRows((old) => from === undefined ? page.decisions : [...(old ?? []), ...page.decisions])
      setNext(page.next_from)
      setLoadedAt(Date.now())
    } catch (e) { setError(errorText(e)) }
  }
  useEffect(() => { void load(filters) }, [filters])
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
          <input name="rule" list="rules" value={draft.rule} onInput={field('rule')} size={12} />
          <datalist id="rules">{RULES.map((r) => <option key={r} value={r} />)}</datalist>
        </label>
        <label>Medium
          <select name="medium" value={draft.medium} onChange={field('medium')}>
            <option value="">any</option><option value="email">email</option><option value="msisdn">phone</option><option value="none">none</option>
          </select>
        </label>
        <label>Email domain
          <input name="domain" value={draft.domain} onInput={field('domain')} placeholder="example.org" size={18} />
        </label>
        <button type="submit">Filter</button>
        <button type="button" class="secondary" onClick={() => { void load(filters) }}>Refresh</button>
      </form>
      {error !== null && <p class="error" role="alert">{error}</p>}
      <p class="muted" role="status">{rows === null ? 'Loading…' : `${rows.length} shown${next !== undefined ? ' (more below)' : ''}${loadedAt !== null ? `, loaded ${when(loadedAt)}` : ''}`}</p>
      {rows !== null && rows.length > 0 && (
        <table id="decisions">
          <caption>Policy decisions, newest first</caption>
          <thead><tr><th scope="col">Time</th><th scope="col">Endpoint</th><th scope="col">Medium</th><th scope="col">Address</th><th scope="col">Result</th><th scope="col">Rule</th><th scope="col">Detail</th><th scope="col">Client IP</th></tr></thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id}>
                <td>{when(d.at)}</td><td>{d.endpoint}</td><td>{d.medium}</td><td class="addr">{d.address ?? '—'}</td>
                <td><span class={`pill ${d.result}`}>{d.result}</span>{d.count > 1 && <span class="repeats" title={`${d.count} identical decisions`}> ×{d.count.toLocaleString()}</span>}</td><td>{d.rule}</td><td>{d.detail}</td><td>{d.client_ip}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next !== undefined && <p><button type="button" class="secondary" onClick={() => { void load(filters, next) }}>Load older</button></p>}
    </>
  )
}
