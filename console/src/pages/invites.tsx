import { useEffect, useState } from 'preact/hooks'
import { ApiError, call, get, postJson, type Invite } from '../api'
import { errorText, inviteState, when } from '../format'

// Invites: search, add, revoke, import a CSV; by inviter where this regguard records inviters
// (invites carry an "inviter" field then). Where it does not, those controls say so instead of
// pretending: the list API ignores a parameter it does not know.

interface Search { medium: string, address: string, inviter: string }
const NONE: Search = { medium: '', address: '', inviter: '' }

export function Invites (): preact.JSX.Element {
  const [draft, setDraft] = useState<Search>(NONE)
  const [search, setSearch] = useState<Search>(NONE)
  const [rows, setRows] = useState<Invite[] | null>(null)
  const [next, setNext] = useState<string | undefined>(undefined)
  const [inviters, setInviters] = useState<boolean | null>(null)
  const [message, setMessage] = useState<{ ok: boolean, text: string } | null>(null)
  const [add, setAdd] = useState({ medium: 'email', address: '', days: '' })
  const [file, setFile] = useState<File | null>(null)

  const say = (ok: boolean, text: string): void => setMessage({ ok, text })
  const load = async (s: Search, from?: string): Promise<void> => {
    try {
      const page = await get<{ invites: Invite[], next_from?: string }>('invites', { ...s, limit: '100', order: 'newest', from })
      const known = page.invites.length === 0 ? inviters : page.invites.every((i) => Object.hasOwn(i, 'inviter'))
      setInviters(known)
      if (s.inviter !== '' && known === false) say(false, 'This regguard does not record inviters, so it cannot filter by one: showing every invite.')
      setRows((old) => from === undefined ? page.invites : [...(old ?? []), ...page.invites])
      setNext(page.next_from)
    } catch (e) { say(false, errorText(e)) }
  }
  useEffect(() => { void load(search) }, [search])

  const revoke = async (i: Invite): Promise<void> => {
    // a revoked invite cannot be restored, only added again: ask first
    if (!confirm(`Revoke invite ${i.id} for ${i.address}? It cannot be undone (only added again).`)) return
    try {
      await call('DELETE', `invites/${encodeURIComponent(i.id)}`)
      say(true, `Revoked invite ${i.id} (${i.address}).`)
      void load(search)
    } catch (e) { say(false, errorText(e)) }
  }
  const revokeInviter = async (): Promise<void> => {
    const inviter = search.inviter
    if (!confirm(`Revoke every pending invite made by ${inviter}?`)) return
    try {
      const r = await postJson<{ revoked?: number }>('invites/revoke', { inviter })
      say(true, `Revoked ${r.revoked ?? 'the'} invites of ${inviter}.`)
      void load(search)
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 400)) say(false, `This regguard cannot revoke by inviter (${e.errcode}).`)
      else say(false, errorText(e))
    }
  }
  const submitAdd = async (e: Event): Promise<void> => {
    e.preventDefault()
    const body: Record<string, unknown> = { medium: add.medium, address: add.address }
    if (add.days.trim() !== '') body.expires_in_ms = Math.round(Number(add.days) * 86_400_000)
    try {
      const i = await postJson<Invite>('invites', body)
      say(true, `Added invite ${i.id}: ${i.medium} ${i.address}, pending until ${when(i.expires_at)}.`)
      setAdd({ ...add, address: '' })
      void load(search)
    } catch (err) { say(false, errorText(err)) }
  }
  const submitImport = async (e: Event): Promise<void> => {
    e.preventDefault()
    if (file === null) return
    try {
      const r = await call<{ imported: number }>('POST', 'invites/import', { body: await file.text(), type: 'text/csv' })
      say(true, `Imported ${r.imported} invites from ${file.name}.`)
      void load(search)
    } catch (err) { say(false, `${file.name}: ${errorText(err)}`) }
  }
  const field = (k: keyof Search) => (e: Event): void => setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value })

  return (
    <>
      {message !== null && <p class={message.ok ? 'notice' : 'error'} role={message.ok ? 'status' : 'alert'} id="invite-message">{message.text}</p>}
      <div class="columns">
        <form class="card" onSubmit={(e) => { void submitAdd(e) }} aria-labelledby="add-title">
          <h2 id="add-title">Add an invite</h2>
          <label for="add-medium">Medium</label>
          <select id="add-medium" value={add.medium} onChange={(e) => setAdd({ ...add, medium: (e.target as HTMLSelectElement).value })}>
            <option value="email">email</option><option value="msisdn">phone (msisdn)</option>
          </select>
          <label for="add-address">Address</label>
          <input id="add-address" required value={add.address} onInput={(e) => setAdd({ ...add, address: (e.target as HTMLInputElement).value })} placeholder={add.medium === 'email' ? 'alice@example.org' : '+44 7700 900123'} />
          <label for="add-days">Pending for (days; empty: invites.ttl)</label>
          <input id="add-days" inputMode="decimal" pattern="[0-9]+([.][0-9]+)?" value={add.days} onInput={(e) => setAdd({ ...add, days: (e.target as HTMLInputElement).value })} />
          <button type="submit">Add invite</button>
        </form>
        <form class="card" onSubmit={(e) => { void submitImport(e) }} aria-labelledby="import-title">
          <h2 id="import-title">Import a CSV</h2>
          <p class="muted">One <code>medium,address</code> a line; <code>#</code> comments. All or nothing.</p>
          <label for="import-file">CSV file</label>
          <input id="import-file" type="file" accept=".csv,text/csv,text/plain" onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
          <button type="submit" disabled={file === null}>Import</button>
        </form>
      </div>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); setSearch({ ...draft }) }} aria-label="Search invites">
        <label>Medium
          <select name="medium" value={draft.medium} onChange={field('medium')}>
            <option value="">any</option><option value="email">email</option><option value="msisdn">phone</option>
          </select>
        </label>
        <label>Address
          <input name="address" value={draft.address} onInput={field('address')} disabled={draft.medium === ''} title={draft.medium === '' ? 'Choose a medium first' : undefined} />
        </label>
        <label>Inviter
          <input name="inviter" value={draft.inviter} onInput={field('inviter')} disabled={inviters === false} placeholder={inviters === false ? 'not recorded by this regguard' : '@alice:example.org'} />
        </label>
        <button type="submit">Search</button>
        {search.inviter !== '' && inviters === true && <button type="button" class="danger" onClick={() => { void revokeInviter() }}>Revoke all of {search.inviter}'s</button>}
      </form>
      {rows !== null && (
        <div class="scroll">
        <table id="invites">
          <caption>{rows.length} invites{next !== undefined ? ' (more below)' : ''}, oldest first</caption>
          <thead><tr><th scope="col">Id</th><th scope="col">Medium</th><th scope="col">Address</th><th scope="col">State</th><th scope="col">Expires</th><th scope="col">Source</th>{inviters === true && <th scope="col">Inviter</th>}<th scope="col">Room</th><th scope="col"><span class="sr-only">Action</span></th></tr></thead>
          <tbody>
            {rows.map((i) => {
              const state = inviteState(i)
              return (
                <tr key={i.id}>
                  <td>{i.id}</td><td>{i.medium}</td><td class="addr">{i.address}</td><td><span class={`pill ${state}`}>{state}</span></td>
                  <td>{when(i.expires_at)}</td><td>{i.source}</td>{inviters === true && <td>{i.inviter ?? '—'}</td>}<td>{i.room_id ?? '—'}</td>
                  <td>{state === 'pending' && <button type="button" class="danger small" aria-label={`Revoke invite ${i.id} for ${i.address}`} onClick={() => { void revoke(i) }}>Revoke</button>}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
        </div>
      )}
      {next !== undefined && <p><button type="button" class="secondary" onClick={() => { void load(search, next) }}>Load more</button></p>}
    </>
  )
}
