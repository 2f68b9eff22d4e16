import type { LoadedConfig } from '../config/load.js'
import { isUserId } from '../invites/inviters.js'
import type { AccessRequestState } from '../store/access-requests-store.js'
import { CommandError, CommandUsageError } from '../cli/errors.js'
import { withStore, type Output } from '../cli/invites.js'
import { approveRequest, MAX_REASON, rejectRequest, shownState, type Outcome } from './decide.js'

// `regguard requests list|approve|reject`: the access-request API's twins, on the configured
// store directly (a running regguard sees the result at once). Approving mails the applicant
// from here when notify.smtp is set.

const STATES = new Set(['pending', 'approved', 'rejected'])
const LIST_LIMIT = 1000

function refused (id: string, o: Extract<Outcome<unknown>, { ok: false }>): CommandError {
  return new CommandError(o.why === 'unknown' ? `no access request ${JSON.stringify(id)}` : `access request ${id} is not pending (it is ${o.state ?? 'decided'})`)
}

const iso = (ms: number): string => new Date(ms).toISOString()
const oneLine = (s: string): string => s.replace(/[\t\r\n]+/g, ' ')

export async function requestsCommand (config: LoadedConfig, args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args
  switch (sub) {
    case 'list': {
      if (rest.length > 1 || (rest[0] !== undefined && !STATES.has(rest[0]))) throw new CommandUsageError('requests list takes at most one state: pending, approved or rejected')
      const state = rest[0] as AccessRequestState | undefined
      const rows = await withStore(config, async (store) => await store.accessRequests.list({ ...(state !== undefined ? { state } : {}), limit: LIST_LIMIT, offset: 0 }))
      const now = Date.now()
      for (const r of rows) {
        const note = r.reason ?? r.applicant_told ?? '-'
        io.out([r.id, shownState(r, now), r.medium, r.address, String(r.count), iso(r.first_seen), iso(r.last_seen), r.client_ip, r.decided_by ?? '-', oneLine(note)].join('\t') + '\n')
      }
      if (rows.length === LIST_LIMIT) io.err(`only the first ${LIST_LIMIT} shown\n`)
      return 0
    }
    case 'approve': {
      const [id, by, ...extra] = rest
      if (id === undefined || extra.length > 0) throw new CommandUsageError('requests approve needs an ID (and optionally the approving operator\'s USER_ID)')
      if (by !== undefined && !isUserId(by)) throw new CommandUsageError('USER_ID must be a user ID such as "@alice:example.org"')
      const o = await withStore(config, async (store) => await approveRequest(store, config.settings, id, by ?? null))
      if (!o.ok) throw refused(id, o)
      const told = o.value.applicant_told ? 'the applicant was mailed' : `the applicant was ${o.value.applicant_not_told_because ?? 'not told'}`
      io.out(`approved ${id}: invite ${o.value.invite.id} for ${o.value.invite.medium} ${o.value.invite.address}; ${told}\n`)
      return 0
    }
    case 'reject': {
      const [id, reason, ...extra] = rest
      if (id === undefined || extra.length > 0) throw new CommandUsageError('requests reject needs an ID (and optionally one REASON, quoted)')
      if (reason !== undefined && reason.length > MAX_REASON) throw new CommandUsageError(`REASON must be at most ${MAX_REASON} characters`)
      const o = await withStore(config, async (store) => await rejectRequest(store, id, null, reason === undefined || reason === '' ? null : reason))
      if (!o.ok) throw refused(id, o)
      io.out(`rejected ${id}: ${o.value.medium} ${o.value.address}\n`)
      return 0
    }
    default:
      throw new CommandUsageError('requests needs: list, approve or reject')
  }
}
