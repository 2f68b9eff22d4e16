import { useEffect, useState } from 'preact/hooks'
import { get, postJson } from '../api'
import { errorText, when } from '../format'

// Access requests (register.approval): addresses only the default rule denied, asking to join.
// Pending first; approve or reject several at once, a rejection with a reason. Whether an
// approved applicant is mailed (notify.smtp) is said before and after: never assumed.

interface AccessRequest {
  id: string
  medium: string
  address: string
  client_ip: string
  user_agent: string
  first_seen: number
  last_seen: number
  count: number
  status: 'pending' | 'approved' | 'rejected' | 'expired'
  decided_by: string | null
  reason: string | null
  applicant_told: string | null
}

interface Listing { access_requests: AccessRequest[], applicant_mail: boolean }
interface ApproveAnswer { invite: { id: string }, applicant_told: boolean, applicant_not_told_because?: string }

export function AccessRequests (): preact.JSX.Element {
  const [listing, setListing] = useState<Listing | null>(null)
  const [selected, setSelected] = useState<Set<string>>(new Set())
  const [reason, setReason] = useState('')
  const [by, setBy] = useState('')
  const [busy, setBusy] = useState(false)
  const [results, setResults] = useState<Array<{ ok: boolean, text: string }>>([])

  const load = async (): Promise<void> => {
    try {
      setListing(await get<Listing>('access-requests', { limit: '500' }))
    } catch (e) { setResults([{ ok: false, text: errorText(e) }]) }
  }
  useEffect(() => { void load() }, [])

  const pending = listing?.access_requests.filter((r) => r.status === 'pending') ?? []
  const toggle = (id: string): void => {
    const next = new Set(selected)
    if (next.has(id)) next.delete(id)
    else next.add(id)
    setSelected(next)
  }
  const decide = async (action: 'approve' | 'reject'): Promise<void> => {
    setBusy(true)
    const out: Array<{ ok: boolean, text: string }> = []
    const body: Record<string, unknown> = by.trim() === '' ? {} : { by: by.trim() }
    if (action === 'reject' && reason.trim() !== '') body.reason = reason.trim()
    for (const r of listing?.access_requests ?? []) {
      if (!selected.has(r.id)) continue
      try {
        if (action === 'approve') {
          const a = await postJson<ApproveAnswer>(`access-requests/${encodeURIComponent(r.id)}/approve`, body)
          out.push({ ok: true, text: `Approved ${r.address} (invite ${a.invite.id}); ${a.applicant_told ? 'the applicant was mailed.' : `the applicant was ${a.applicant_not_told_because ?? 'not told'}.`}` })
        } else {
          await postJson(`access-requests/${encodeURIComponent(r.id)}/reject`, body)
          out.push({ ok: true, text: `Rejected ${r.address}.` })
        }
      } catch (e) { out.push({ ok: false, text: `${r.address}: ${errorText(e)}` }) }
    }
    setResults(out)
    setSelected(new Set())
    setReason('')
    setBusy(false)
    void load()
  }

  return (
    <>
      {listing !== null && !listing.applicant_mail && <p class="error" role="note" id="no-mail">No mail server is set (notify.smtp.host): approved applicants will not be told; tell them yourself.</p>}
      {results.length > 0 && (
        <div id="decision-results" aria-live="polite">
          {results.map((r, i) => <p key={i} class={r.ok ? 'notice' : 'error'}>{r.text}</p>)}
        </div>
      )}
      <form class="filters" onSubmit={(e) => { e.preventDefault() }} aria-label="Decide the selected requests">
        <label>Your user ID (recorded as the decider)
          <input name="by" value={by} placeholder="@you:example.org" onInput={(e) => setBy((e.target as HTMLInputElement).value)} />
        </label>
        <button type="button" id="approve-selected" disabled={busy || selected.size === 0} onClick={() => { void decide('approve') }}>Approve {selected.size > 0 ? selected.size : ''} selected</button>
        <label>Reason (for a rejection)
          <input name="reason" maxLength={500} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        </label>
        <button type="button" class="danger" id="reject-selected" disabled={busy || selected.size === 0} onClick={() => { void decide('reject') }}>Reject {selected.size > 0 ? selected.size : ''} selected</button>
      </form>
      {listing !== null && (
        <table id="access-requests">
          <caption>{pending.length} pending of {listing.access_requests.length} requests, pending first</caption>
          <thead><tr>
            <th scope="col"><input type="checkbox" aria-label="Select every pending request" checked={pending.length > 0 && pending.every((r) => selected.has(r.id))} onChange={(e) => setSelected((e.target as HTMLInputElement).checked ? new Set(pending.map((r) => r.id)) : new Set())} /></th>
            <th scope="col">Id</th><th scope="col">Address</th><th scope="col">State</th><th scope="col">Asked</th><th scope="col">First seen</th><th scope="col">Last seen</th><th scope="col">Client</th><th scope="col">Decision</th>
          </tr></thead>
          <tbody>
            {listing.access_requests.map((r) => (
              <tr key={r.id}>
                <td>{r.status === 'pending' && <input type="checkbox" aria-label={`Select ${r.address}`} checked={selected.has(r.id)} onChange={() => toggle(r.id)} />}</td>
                <td>{r.id}</td><td class="addr">{r.medium === 'email' ? r.address : `+${r.address}`}</td>
                <td><span class={`pill ${r.status === 'approved' ? 'allow' : r.status === 'rejected' ? 'deny' : r.status}`}>{r.status}</span></td>
                <td>{r.count}×</td><td>{when(r.first_seen)}</td><td>{when(r.last_seen)}</td>
                <td><span title={r.user_agent}>{r.client_ip}</span></td>
                <td>{r.status === 'approved' || r.status === 'rejected' ? `${r.decided_by ?? 'operator'}${r.reason !== null ? `: ${r.reason}` : ''}${r.applicant_told !== null ? ` (${r.applicant_told === 'sent' ? 'applicant mailed' : `applicant ${r.applicant_told}`})` : ''}` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  )
}
