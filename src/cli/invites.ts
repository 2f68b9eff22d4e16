import { existsSync, readFileSync } from 'node:fs'
import type { LoadedConfig } from '../config/load.js'
import { canonicalInviteAddress } from '../invites/learn.js'
import { isUserId } from '../invites/inviters.js'
import { openStore } from '../store/open.js'
import { sqlitePath } from '../store/sqlite.js'
import type { Invite, NewInvite, Store } from '../store/store.js'
import { storageKind } from '../store/url.js'
import { CommandError, CommandUsageError } from './errors.js'

// `regguard invites ...`: the admin API's twins, working on the configured store directly
// (a running regguard sees the result at once: it reads the same store).

export { CommandError, CommandUsageError }

export interface InviteOptions {
  medium?: string
  address?: string
  limit?: string
  from?: string
  inviter?: string
}

export interface Output { out: (s: string) => void, err: (s: string) => void }

/** Opens storage.url for one command and closes it after; a store that cannot open is exit 2. */
export async function withStore<T> (config: LoadedConfig, f: (store: Store) => Promise<T>): Promise<T> {
  let store: Store
  try {
    store = await openStore(config.settings.storage.url)
  } catch (err) {
    throw new CommandError((err as Error).message, 2)
  }
  try {
    return await f(store)
  } finally {
    await store.close()
  }
}

export function formatInvite (i: Invite, now = Date.now()): string {
  const state = i.revoked_at !== null ? 'revoked' : i.expires_at <= now ? 'expired' : 'pending'
  return [i.id, i.medium, i.address, state, new Date(i.expires_at).toISOString(), i.source, i.room_id ?? '-', i.inviter ?? '-'].join('\t')
}

function canonical (medium: string | undefined, address: string | undefined): { medium: 'email' | 'msisdn', address: string } {
  if (medium !== 'email' && medium !== 'msisdn') throw new CommandUsageError('medium must be email or msisdn')
  if (address === undefined) throw new CommandUsageError(`invites: ${medium} needs an ADDRESS`)
  const c = canonicalInviteAddress(medium, address)
  if (c === null) throw new CommandError(`not a valid ${medium === 'email' ? 'email address' : 'phone number'}: ${JSON.stringify(address)}`)
  return c
}

/**
 * Parses an import file: `medium,address` a line, "#" comments and blank lines skipped; a first
 * line that is exactly the header `medium,address` (as a spreadsheet exports it) is skipped too.
 */
export function parseImport (text: string, file: string, expiresAt: number): NewInvite[] {
  const out: NewInvite[] = []
  let header = false
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  for (let n = 0; n < lines.length; n++) {
    const line = (lines[n] as string).trim()
    if (line === '' || line.startsWith('#')) continue
    if (out.length === 0 && /^"?medium"?\s*,\s*"?address"?$/i.test(line) && !header) { header = true; continue }
    const comma = line.indexOf(',')
    const where = `${file}:${n + 1}`
    if (comma === -1) throw new CommandError(`${where}: expected "medium,address", got ${JSON.stringify(line)}; nothing imported`)
    const medium = line.slice(0, comma).trim()
    const address = line.slice(comma + 1).trim()
    if (medium !== 'email' && medium !== 'msisdn') throw new CommandError(`${where}: medium must be email or msisdn, got ${JSON.stringify(medium)}; nothing imported`)
    const c = canonicalInviteAddress(medium, address)
    if (c === null) throw new CommandError(`${where}: not a valid ${medium === 'email' ? 'email address' : 'phone number'}: ${JSON.stringify(address)}; nothing imported`)
    out.push({ ...c, room_id: null, source: 'import', expires_at: expiresAt })
  }
  return out
}

export async function invitesCommand (config: LoadedConfig, args: string[], opts: InviteOptions, io: Output): Promise<number> {
  const [sub, ...rest] = args
  const ttl = config.settings.invites.ttl
  switch (sub) {
    case 'add': {
      if (rest.length > 2) throw new CommandUsageError('invites add takes one address: email ADDRESS or msisdn NUMBER')
      const c = canonical(rest[0], rest[1])
      // idempotent: running the same command twice (a script, a retry) does not make two invites
      const { invite, existed } = await withStore(config, async (s) => {
        const now = Date.now()
        const pending = await s.invites.findPending(c.medium, c.address, now)
        if (pending !== null) return { invite: pending, existed: true }
        return { invite: await s.invites.add({ ...c, room_id: null, source: 'admin', expires_at: now + ttl }), existed: false }
      })
      const expires = new Date(invite.expires_at).toISOString()
      io.out(existed
        ? `already invited: invite ${invite.id}, ${invite.medium} ${invite.address}, pending until ${expires}; nothing added\n`
        : `added invite ${invite.id}: ${invite.medium} ${invite.address}, expires ${expires}\n`)
      return 0
    }
    case 'list': {
      let limit = 100
      if (opts.limit !== undefined) {
        limit = /^[0-9]{1,4}$/.test(opts.limit) ? Number(opts.limit) : 0
        if (limit < 1 || limit > 1000) throw new CommandUsageError('--limit must be between 1 and 1000')
      }
      if (opts.medium !== undefined && opts.medium !== 'email' && opts.medium !== 'msisdn') throw new CommandUsageError('--medium must be email or msisdn')
      let address: string | undefined
      if (opts.address !== undefined) {
        if (opts.medium === undefined) throw new CommandUsageError('--address needs --medium')
        address = canonical(opts.medium, opts.address).address
      }
      if (opts.inviter !== undefined && !isUserId(opts.inviter)) throw new CommandUsageError('--inviter must be a user ID such as @alice:example.org')
      const medium = opts.medium as 'email' | 'msisdn' | undefined
      const page = await withStore(config, async (s) => await s.invites.list({ medium, address, inviter: opts.inviter, limit, from: opts.from }))
        .catch((err) => { throw err instanceof CommandError ? err : new CommandUsageError((err as Error).message) })
      io.out('id\tmedium\taddress\tstate\texpires\tsource\troom\tinviter\n')
      for (const i of page.invites) io.out(formatInvite(i) + '\n')
      if (page.next !== undefined) io.err(`more: --from ${page.next}\n`)
      return 0
    }
    case 'revoke': {
      if (opts.inviter !== undefined) {
        if (rest.length > 0) throw new CommandUsageError('invites revoke takes an ID or --inviter, not both')
        const inviter = opts.inviter
        if (!isUserId(inviter)) throw new CommandUsageError('--inviter must be a user ID such as @alice:example.org')
        const n = await withStore(config, async (s) => await s.invites.revokeByInviter(inviter))
        io.out(`revoked ${n} invite${n === 1 ? '' : 's'} of ${inviter}\n`)
        return 0
      }
      const id = rest[0]
      if (id === undefined) throw new CommandUsageError('invites revoke needs an ID')
      if (rest.length > 1) throw new CommandUsageError('invites revoke takes one ID')
      const before = await withStore(config, async (s) => {
        const found = await s.invites.get(id)
        if (found !== null && found.revoked_at === null && !(await s.invites.revoke(id))) return null
        return found
      })
      if (before === null) throw new CommandError(`no invite ${JSON.stringify(id)}`)
      // revoking twice changes nothing, and a script should know its ID was stale: exit 3
      if (before.revoked_at !== null) throw new CommandError(`invite ${id} was already revoked at ${new Date(before.revoked_at).toISOString()}; nothing changed`)
      io.out(`revoked invite ${id}\n`)
      return 0
    }
    case 'import': {
      const file = rest[0]
      if (file === undefined) throw new CommandUsageError('invites import needs a FILE')
      let text: string
      try { text = readFileSync(file, 'utf8') } catch (err) { throw new CommandError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`) }
      const invites = parseImport(text, file, Date.now() + ttl)
      const added = await withStore(config, async (s) => await s.invites.addMany(invites))
      io.out(`imported ${added.length} invite${added.length === 1 ? '' : 's'} from ${file}\n`)
      return 0
    }
    default:
      throw new CommandUsageError('invites needs: add, list, revoke or import')
  }
}

/** The pending invite `policy check` reports, or null (also when the rule is off). */
export async function pendingForCheck (config: LoadedConfig, medium: 'email' | 'msisdn', address: string): Promise<Invite | null> {
  if (!config.policy.invite) return null
  // a check only reads: no SQLite file yet means no invites, and none is created for asking
  const url = config.settings.storage.url
  if (storageKind(url) === 'sqlite' && !existsSync(sqlitePath(url))) return null
  return await withStore(config, async (s) => await s.invites.findPending(medium, address, Date.now()))
}
