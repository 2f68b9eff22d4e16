import type { Logger } from 'pino'
import type { Medium } from '../synapse/canonical.js'
import { inviteKey, type InviteFeed, type InviteWatch, type Store } from '../store/store.js'

// Every denied requestToken asked the store whether an invite allows it. The index holds the
// (medium, address) of every pending invite, so most denials need no store. It may hold more
// (revoked, expired: the store's lookup, which is exact, decides those), never less: an address
// it lacks is answered "no invite" without the store. Whenever it cannot be sure it has
// everything (not loaded yet, the watch on other writers down, the last reading failed, the
// SQLite file written by another process since), it says "maybe", and the store is asked as
// before. Memory: a Set of `${medium}:${address}` strings, ~100 bytes each: ~100 MB at 1M.

export interface InviteIndexOptions {
  /** Full re-reading: drops revoked and expired entries, and heals a lost notification */
  resyncMs?: number
  log?: Pick<Logger, 'warn' | 'info'>
}

const DEFAULT_RESYNC_MS = 30_000
// after a failed reading, lookups that find the index untrusted do not start another at once
const RETRY_MS = 1000

export class InviteIndex {
  private keys = new Set<string>()
  private loaded = false
  private watchUp: boolean
  private failed = false
  private syncedVersion: number | undefined
  /** Keys noted while a reading runs: the reading may have started before they were written */
  private notedDuring: string[] | null = null
  private reading: Promise<void> | null = null
  private again = false
  private lastFailure = 0
  /** Changes whenever the watch goes down or up: a reading begun under another epoch may have missed writes */
  private epoch = 0
  private readonly watch: InviteWatch
  private readonly timer: NodeJS.Timeout

  constructor (private readonly feed: InviteFeed, opts: InviteIndexOptions = {}) {
    const log = opts.log
    this.watch = feed.watch({
      written: (keys) => {
        if (keys === null) { this.resync(); return }
        for (const k of keys) this.note(k)
      },
      up: (up) => {
        if (up === this.watchUp) return
        this.watchUp = up
        this.epoch++
        if (up) {
          log?.info('invite index: watching other writers again, re-reading')
          // what was written while down was not seen
          this.loaded = false
          this.resync()
        } else {
          log?.warn('invite index: cannot watch other writers; every denial asks the store until it can')
        }
      }
    })
    this.watchUp = this.watch.version !== undefined
    this.timer = setInterval(() => {
      void this.watch.check().then(() => { this.resync() })
    }, opts.resyncMs ?? DEFAULT_RESYNC_MS)
    this.timer.unref()
  }

  /** Resolves once the first reading finished (or failed: then lookups ask the store) */
  async ready (): Promise<void> {
    this.resync()
    await this.reading
  }

  /** True when all of it is known: "absent" then means no pending invite */
  trusted (): boolean {
    if (!this.loaded || !this.watchUp || this.failed) return false
    return this.watch.version === undefined || this.watch.version() === this.syncedVersion
  }

  /** False only when there is certainly no pending invite for the address */
  mayHave (medium: Medium, address: string): boolean {
    if (this.trusted()) return this.keys.has(inviteKey(medium, address))
    if (this.reading === null && Date.now() - this.lastFailure >= RETRY_MS) this.resync()
    return true
  }

  /** An invite about to be written through this process (noted before, so never missing) */
  note (key: string): void {
    this.keys.add(key)
    this.notedDuring?.push(key)
  }

  /**
   * The store with its invite writes noted here before and after: a reading whose SELECT ran
   * before the commit would drop the first note, so the second one is in by the time the write
   * returns (and anyone can know of the invite)
   */
  noting (store: Store): Store {
    const invites = store.invites
    const noted = async <T>(list: Array<{ medium: Medium, address: string }>, write: () => Promise<T>): Promise<T> => {
      for (const i of list) this.note(inviteKey(i.medium, i.address))
      const out = await write()
      for (const i of list) this.note(inviteKey(i.medium, i.address))
      return out
    }
    return {
      ...store,
      invites: {
        ...invites,
        add: async (invite) => await noted([invite], async () => await invites.add(invite)),
        addMany: async (list) => await noted(list, async () => await invites.addMany(list))
      }
    }
  }

  /** Starts a full reading (or one more after the running one) */
  resync (): void {
    if (this.reading !== null) { this.again = true; return }
    this.reading = this.read().finally(() => {
      this.reading = null
      if (this.again) { this.again = false; this.resync() }
    })
  }

  private async read (): Promise<void> {
    const noted: string[] = []
    this.notedDuring = noted
    const epoch = this.epoch
    const watching = this.watchUp
    try {
      // read before the SELECT: a write after it changes the version again
      const version = this.watch.version?.()
      const keys = new Set(await this.feed.pendingKeys(Date.now()))
      for (const k of noted) keys.add(k)
      this.keys = keys
      this.syncedVersion = version
      // begun before the watch was (again) up: notifications meanwhile may be missing from it
      if (watching && epoch === this.epoch) this.loaded = true
      this.failed = false
    } catch {
      this.failed = true
      this.lastFailure = Date.now()
    } finally {
      this.notedDuring = null
    }
  }

  async close (): Promise<void> {
    clearInterval(this.timer)
    await this.watch.close()
    await this.reading
  }
}

/** A store without a feed (a test's own): an index that always says "maybe" */
export function noIndex (): Pick<InviteIndex, 'mayHave'> {
  return { mayHave: () => true }
}
