import type { Dispatcher } from 'undici'
import type { LoadedConfig } from '../config/load.js'
import type { Settings } from '../config/settings.js'
import { DomainSet } from '../policy/domain-set.js'
import { displaySource, type LiveSlot } from '../policy/live-slot.js'
import { cacheDir, readBody, readMeta, writeCopy, type CacheMeta } from './cache.js'
import type { Fetched, FetchOptions } from './fetch.js'
import { parseList } from './parse.js'

// The live lists (register.policy.threepid.email.domain.*_urls): each kept in memory, in the
// cache directory, and refreshed every lists.refresh. A refresh that fails or brings garbage
// keeps the copy in force. Loading a configuration never waits on the network: adopt() binds the
// policy's slots to the copies already held (memory, else disk) and fetches in the background.

export type RefreshOutcome = 'ok' | 'not_modified' | 'error' | 'refused'

export interface RefreshResult {
  url: string
  source: string
  result: RefreshOutcome
  entries: number
  why?: string
  /** the copy was accepted but could not be written to the cache directory */
  cacheError?: string
}

export interface ListStatus {
  source: string
  sides: string[]
  entries: number
  fetched_at: string | null
  age_seconds: number | null
  checked_at: string | null
  last_result: RefreshOutcome | 'cached' | null
  last_error: string | null
  last_error_at: string | null
}

interface Entry {
  url: string
  sides: Set<string>
  slots: LiveSlot[]
  domains: DomainSet
  entries: number
  etag: string | null
  lastModified: string | null
  fetchedAt: number | null
  checkedAt: number | null
  lastResult: RefreshOutcome | 'cached' | null
  lastError: string | null
  lastErrorAt: number | null
  timer: NodeJS.Timeout | null
  inFlight: Promise<RefreshResult> | null
}

export interface LiveListsLog {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

export interface LiveListsMetrics {
  refreshes: { inc: (labels: { result: string }) => void }
  entries: { set: (labels: { list: string }, value: number) => void, remove: (labels: { list: string }) => void }
}

/** After a failed refresh, the next try comes sooner than lists.refresh, but not sooner than this. */
export const RETRY_MS = 5 * 60 * 1000

const iso = (ms: number | null): string | null => ms === null ? null : new Date(ms).toISOString()

export class LiveLists {
  private readonly entries = new Map<string, Entry>()
  private settings: Settings['lists']
  /** The fetching half (undici's Agent and request), loaded by the first fetch: most configurations have no *_urls list */
  private client: Promise<{ dispatcher: Dispatcher, fetchList: (url: string, o: FetchOptions) => Promise<Fetched> }> | null = null
  /** null once start-up has waited: lists added by a reload are not waited for */
  private firstFetches: Array<Promise<unknown>> | null = []
  private closed = false

  constructor (settings: Settings['lists'], private readonly opts: { log?: LiveListsLog, metrics?: LiveListsMetrics, schedule: boolean }) {
    this.settings = settings
  }

  private get dir (): string { return cacheDir(this.settings.cache_dir) }

  /** Binds the configuration's live slots to the copies held; new lists are read from disk. */
  adopt (config: LoadedConfig): void {
    this.settings = config.settings.lists
    const wanted = new Map<string, { sides: Set<string>, slots: LiveSlot[] }>()
    // in the decision's order: blacklists first
    for (const side of ['blacklist', 'whitelist'] as const) {
      for (const slot of config.policy.email[side].live) {
        const w = wanted.get(slot.url) ?? { sides: new Set(), slots: [] }
        w.sides.add(side)
        w.slots.push(slot)
        wanted.set(slot.url, w)
      }
    }
    for (const [url, e] of this.entries) {
      if (wanted.has(url)) continue
      if (e.timer !== null) clearTimeout(e.timer)
      this.entries.delete(url)
      this.opts.metrics?.entries.remove({ list: displaySource(url) })
    }
    for (const [url, w] of wanted) {
      let e = this.entries.get(url)
      const isNew = e === undefined
      if (e === undefined) {
        e = this.fromDisk(url)
        this.entries.set(url, e)
      }
      e.sides = w.sides
      e.slots = w.slots
      for (const slot of e.slots) slot.domains = e.domains
      this.opts.metrics?.entries.set({ list: displaySource(url) }, e.entries)
      if (isNew && this.opts.schedule) {
        const due = e.fetchedAt === null ? 0 : e.fetchedAt + this.settings.refresh - Date.now()
        if (due <= 0) {
          const first = this.refreshEntry(e)
          if (e.fetchedAt === null && this.firstFetches !== null) this.firstFetches.push(first)
        } else {
          this.schedule(e, due)
        }
      }
    }
  }

  /**
   * Settles when the lists that had no copy at all have been fetched once (or failed): start-up
   * waits for it, so a first start does not serve with a blacklist it could have had.
   */
  async ready (): Promise<void> {
    const pending = this.firstFetches ?? []
    this.firstFetches = null
    await Promise.allSettled(pending)
  }

  async refreshAll (): Promise<RefreshResult[]> {
    return await Promise.all([...this.entries.values()].map((e) => this.refreshEntry(e)))
  }

  status (): ListStatus[] {
    const now = Date.now()
    return [...this.entries.values()].map((e) => ({
      source: displaySource(e.url),
      sides: [...e.sides],
      entries: e.entries,
      fetched_at: iso(e.fetchedAt),
      age_seconds: e.fetchedAt === null ? null : Math.round((now - e.fetchedAt) / 1000),
      checked_at: iso(e.checkedAt),
      last_result: e.lastResult,
      last_error: e.lastError,
      last_error_at: iso(e.lastErrorAt)
    }))
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const e of this.entries.values()) if (e.timer !== null) clearTimeout(e.timer)
    await Promise.allSettled([...this.entries.values()].map((e) => e.inFlight))
    if (this.client !== null) await (await this.client).dispatcher.close()
  }

  private fromDisk (url: string): Entry {
    const e: Entry = { url, sides: new Set(), slots: [], domains: new DomainSet(), entries: 0, etag: null, lastModified: null, fetchedAt: null, checkedAt: null, lastResult: null, lastError: null, lastErrorAt: null, timer: null, inFlight: null }
    this.loadCopy(e)
    return e
  }

  /** Takes the copy on disk when it is newer than the one held (written by another process). */
  private loadCopy (e: Entry): boolean {
    const meta = readMeta(this.dir, e.url)
    if (meta !== null) {
      e.checkedAt = Math.max(e.checkedAt ?? 0, meta.checked_at ?? 0) || null
      if (e.lastError === null && meta.last_error !== null) { e.lastError = meta.last_error; e.lastErrorAt = meta.last_error_at }
    }
    if (meta === null || meta.fetched_at === null || (e.fetchedAt !== null && meta.fetched_at <= e.fetchedAt)) return false
    const body = readBody(this.dir, e.url)
    if (body === null) return false
    // the copy passed these checks when it was fetched; only its entries are needed here
    const parsed = parseList(body, undefined, 0)
    if (!parsed.ok) {
      this.opts.log?.warn({ list: displaySource(e.url), why: parsed.why }, 'cached copy of a domain list is unusable; ignored')
      return false
    }
    this.install(e, parsed.domains, parsed.entries)
    e.etag = meta.etag
    e.lastModified = meta.last_modified
    e.fetchedAt = meta.fetched_at
    e.lastResult = 'cached'
    return true
  }

  private install (e: Entry, domains: DomainSet, entries: number): void {
    e.domains = domains
    e.entries = entries
    for (const slot of e.slots) slot.domains = domains
    this.opts.metrics?.entries.set({ list: displaySource(e.url) }, entries)
  }

  private schedule (e: Entry, inMs: number): void {
    if (e.timer !== null) clearTimeout(e.timer)
    e.timer = null
    if (!this.opts.schedule || this.closed || this.entries.get(e.url) !== e) return
    e.timer = setTimeout(() => { e.timer = null; void this.refreshEntry(e) }, inMs)
    e.timer.unref()
  }

  private refreshEntry (e: Entry): Promise<RefreshResult> {
    e.inFlight ??= this.fetchEntry(e).finally(() => { e.inFlight = null })
    return e.inFlight
  }

  private async fetchEntry (e: Entry): Promise<RefreshResult> {
    const source = displaySource(e.url)
    this.loadCopy(e)
    // a fetch asked for after close() would open connections nobody closes
    if (this.closed) return { url: e.url, source, result: 'error', entries: e.entries, why: 'lists closed' }
    this.client ??= import('./fetch.js').then((m) => ({ dispatcher: m.listAgent(), fetchList: m.fetchList }))
    const { dispatcher, fetchList } = await this.client
    const got = await fetchList(e.url, { etag: e.etag, lastModified: e.lastModified, timeoutMs: this.settings.timeout_ms, maxBytes: this.settings.max_bytes, dispatcher })
    const now = Date.now()
    let result: RefreshResult
    let body: Buffer | null = null
    if (got.kind === 'not-modified') {
      e.checkedAt = now
      result = { url: e.url, source, result: 'not_modified', entries: e.entries }
    } else if (got.kind === 'error') {
      result = { url: e.url, source, result: 'error', entries: e.entries, why: got.why }
    } else {
      const parsed = parseList(got.body, got.contentType, e.entries)
      if (!parsed.ok) {
        e.checkedAt = now
        result = { url: e.url, source, result: 'refused', entries: e.entries, why: parsed.why }
      } else {
        this.install(e, parsed.domains, parsed.entries)
        e.etag = got.etag
        e.lastModified = got.lastModified
        e.fetchedAt = now
        e.checkedAt = now
        body = got.body
        result = { url: e.url, source, result: 'ok', entries: parsed.entries }
      }
    }
    e.lastResult = result.result
    if (result.why !== undefined) { e.lastError = result.why; e.lastErrorAt = now } else { e.lastError = null; e.lastErrorAt = null }
    this.opts.metrics?.refreshes.inc({ result: result.result })
    const meta: CacheMeta = { url: e.url, etag: e.etag, last_modified: e.lastModified, fetched_at: e.fetchedAt, entries: e.entries, checked_at: e.checkedAt, last_error: e.lastError, last_error_at: e.lastErrorAt }
    try {
      writeCopy(this.dir, meta, body)
    } catch (err) {
      result.cacheError = (err as NodeJS.ErrnoException).code ?? (err as Error).message
      this.opts.log?.error({ list: source, dir: this.dir, err: result.cacheError }, 'cannot write the domain list cache; the list in memory is still used')
    }
    if (result.result === 'ok' || result.result === 'not_modified') {
      this.opts.log?.info({ list: source, result: result.result, entries: e.entries }, 'domain list refreshed')
    } else {
      this.opts.log?.warn({ list: source, result: result.result, why: result.why, entries_kept: e.entries }, 'domain list refresh failed; the previous copy stays in force')
    }
    const failed = result.result === 'error' || result.result === 'refused'
    this.schedule(e, failed ? Math.min(this.settings.refresh, RETRY_MS) : this.settings.refresh)
    return result
  }
}
