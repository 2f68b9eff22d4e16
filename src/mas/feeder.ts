import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Dispatcher } from 'undici'
import type { LoadedConfig } from '../config/load.js'
import { cacheDir, readMeta } from '../lists/cache.js'
import { MasRefusedError, MasUnavailableError, type MasClient } from './client.js'
import { masClient, MasConfigError, masDocument, readState, writeState, type MasDocument } from './push.js'

// The MAS feeder: `serve` with mas.url set keeps MAS's policy data equal to regguard's policy.
// It pushes at start, after every reload and whenever a live list's copy on disk changes (the
// lists' own refresh writes it: src/lists/live.ts), and only a document that differs from the
// last one MAS accepted (mas.state_file). A document MAS refuses (400) is not sent again; MAS
// keeps the data it had. A MAS that cannot be reached is tried again, less and less often.

export type PushResult = 'ok' | 'unchanged' | 'refused' | 'error'

export interface MasStatus {
  url: string
  push_on_change: boolean
  last_result: PushResult | null
  last_checked_at: string | null
  last_pushed_at: string | null
  /** the document regguard holds now, and the one MAS last accepted (sha256, first 16 hex digits) */
  document_hash: string | null
  document_bytes: number | null
  accepted_hash: string | null
  /** rules the document cannot carry (notes naming the keys) */
  not_exported: string[]
  last_error: string | null
  last_error_at: string | null
}

export interface MasFeederLog {
  debug: (obj: object, msg: string) => void
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

export interface MasFeederOptions {
  log: MasFeederLog
  metrics?: { pushes: { inc: (labels: { result: string }) => void } }
  /** How often the live lists' copies on disk are looked at (default POLL_MS) */
  pollMs?: number
  /** Settles when the live lists without a copy have been fetched once (LiveLists.ready) */
  listsReady?: () => Promise<void>
  dispatcher?: Dispatcher
}

export const POLL_MS = 10_000
/** After a failed push, the next try waits this long, doubling up to RETRY_MAX_MS */
export const RETRY_MIN_MS = 5_000
export const RETRY_MAX_MS = 5 * 60_000
/** not_exported on /ready: the first ones */
const MAX_NOTES_SHOWN = 20

/** A lock file older than this (or 3 × mas.timeout_ms) was left by an instance that died */
const LOCK_STALE_MS = 60_000

/** The lock file made, or null when another holds it; the function returned removes it. */
function takeLock (file: string, staleMs: number): (() => void) | null {
  const path = resolve(file)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' })
      return () => { rmSync(path, { force: true }) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      let age: number
      try { age = Date.now() - statSync(path).mtimeMs } catch { continue }
      if (age < staleMs) return null
      rmSync(path, { force: true })
    }
  }
  return null
}

const iso = (ms: number | null): string | null => ms === null ? null : new Date(ms).toISOString()
const short = (hash: string | null): string | null => hash === null ? null : hash.slice(0, 16)

export class MasFeeder {
  private config: LoadedConfig
  private generation = 0
  private client: MasClient | null = null
  private clientError: string | null = null
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> | null = null
  private again = false
  private stopped = false
  /** what the last check built from: the configuration's generation and the lists' fetch times */
  private inputs: string | null = null
  private doc: MasDocument | null = null
  private refusedHash: string | null = null
  private failures = 0
  private retryAt = 0
  private lastResult: PushResult | null = null
  private lastCheckedAt: number | null = null
  private lastPushedAt: number | null = null
  private acceptedHash: string | null = null
  private lastError: string | null = null
  private lastErrorAt: number | null = null
  /** the last check found another instance pushing */
  private otherPushing = false

  constructor (config: LoadedConfig, private readonly o: MasFeederOptions) {
    this.config = config
    this.makeClient()
  }

  /** The first push (awaited: errors are logged and shown, never thrown), then the watch. */
  async start (): Promise<void> {
    await this.o.listsReady?.()
    await this.check()
    if (this.stopped) return
    this.timer = setInterval(() => { void this.check() }, this.o.pollMs ?? POLL_MS)
    this.timer.unref()
  }

  /** A new configuration: pushed when its document differs. */
  reconfigure (config: LoadedConfig): void {
    this.config = config
    this.generation++
    this.makeClient()
    // a reload is a reason to try again now, whatever the back-off
    this.retryAt = 0
    void this.check()
  }

  async stop (): Promise<void> {
    this.stopped = true
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    await this.running
  }

  status (): MasStatus {
    const m = this.config.settings.mas
    return {
      url: m.url,
      push_on_change: m.push_on_change,
      last_result: this.lastResult,
      last_checked_at: iso(this.lastCheckedAt),
      last_pushed_at: iso(this.lastPushedAt),
      document_hash: short(this.doc?.hash ?? null),
      document_bytes: this.doc === null ? null : Buffer.byteLength(this.doc.body),
      accepted_hash: short(this.acceptedHash),
      not_exported: (this.doc?.policy.notes ?? []).filter((n) => n.text.startsWith('NOT EXPORTED')).slice(0, MAX_NOTES_SHOWN).map((n) => n.text),
      last_error: this.lastError,
      last_error_at: iso(this.lastErrorAt)
    }
  }

  /** One check at a time; one asked for meanwhile runs after it. */
  check (): Promise<void> {
    if (this.running !== null) { this.again = true; return this.running }
    this.running = (async () => {
      try {
        do {
          this.again = false
          await this.checkOnce()
        } while (this.again && !this.stopped)
      } catch (err) {
        // checkOnce handles what it expects; anything else is a fault, logged, and the watch goes on
        this.o.log.error({ err }, 'MAS feeder check failed')
      } finally {
        this.running = null
      }
    })()
    return this.running
  }

  private makeClient (): void {
    try {
      this.client = masClient(this.config.settings.mas, this.o.dispatcher)
      this.clientError = null
    } catch (err) {
      if (!(err instanceof MasConfigError)) throw err
      this.client = null
      this.clientError = err.message
    }
  }

  private fail (result: PushResult, why: string): void {
    this.lastResult = result
    this.lastError = why
    this.lastErrorAt = Date.now()
    this.o.metrics?.pushes.inc({ result })
  }

  private inputsNow (): string {
    const s = this.config.settings
    const dir = cacheDir(s.lists.cache_dir)
    const d = s.register.policy.threepid.email.domain
    const times = [...d.blacklist_urls, ...d.whitelist_urls].map((url) => readMeta(dir, url)?.fetched_at ?? null)
    return JSON.stringify([this.generation, times])
  }

  private async checkOnce (): Promise<void> {
    if (this.stopped) return
    const mas = this.config.settings.mas
    if (!mas.push_on_change || mas.url === '') return
    const now = Date.now()
    const inputs = this.inputsNow()
    const failing = this.lastResult === 'error'
    // settled: nothing changed since the last check, which pushed, found the document pushed, or
    // saw it refused
    if (inputs === this.inputs && !failing && !this.otherPushing) return
    if (failing && now < this.retryAt && inputs === this.inputs) return
    this.lastCheckedAt = now
    if (inputs !== this.inputs || this.doc === null) {
      const previous = this.doc?.hash
      this.doc = masDocument(this.config)
      this.inputs = inputs
      if (this.doc.hash !== previous) {
        for (const n of this.doc.policy.notes) if (n.text.startsWith('NOT EXPORTED')) this.o.log.warn({ mas: mas.url, note: n.text }, 'a rule is not in the policy data MAS gets')
      }
    }
    const doc = this.doc
    const state = readState(mas.state_file)
    this.acceptedHash = state !== null && state.url === mas.url ? state.hash : null
    if (doc.hash === this.acceptedHash) {
      this.lastResult = 'unchanged'
      this.o.log.debug({ mas: mas.url, hash: short(doc.hash) }, 'MAS policy data unchanged; not pushed')
      return
    }
    if (doc.hash === this.refusedHash) return
    // another instance sharing mas.state_file (a cluster's workers) may be pushing this very
    // document: the one holding the lock pushes, the others look at its record next time
    const lock = takeLock(`${mas.state_file}.lock`, Math.max(LOCK_STALE_MS, 3 * mas.timeout_ms))
    this.otherPushing = lock === null
    if (lock === null) return
    try {
      await this.push(doc)
    } finally {
      lock()
    }
  }

  private async push (doc: MasDocument): Promise<void> {
    const mas = this.config.settings.mas
    if (this.client === null) {
      this.fail('error', this.clientError ?? 'no MAS client')
      this.o.log.error({ mas: mas.url, err: this.lastError }, 'cannot push the policy data to MAS')
      this.backOff()
      return
    }
    try {
      const pushed = await this.client.pushPolicyData(doc.body)
      this.lastPushedAt = Date.now()
      this.lastResult = 'ok'
      this.lastError = null
      this.lastErrorAt = null
      this.failures = 0
      this.acceptedHash = doc.hash
      this.o.metrics?.pushes.inc({ result: 'ok' })
      this.o.log.info({ mas: mas.url, id: pushed.id, hash: short(doc.hash), bytes: Buffer.byteLength(doc.body), lists: doc.policy.lists }, 'policy data pushed to MAS')
      try {
        writeState(mas.state_file, { url: mas.url, hash: doc.hash, id: pushed.id, pushed_at: new Date(this.lastPushedAt).toISOString() })
      } catch (err) {
        this.o.log.error({ file: mas.state_file, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message }, 'cannot record the push in mas.state_file; a restart pushes the same document again')
      }
    } catch (err) {
      if (err instanceof MasRefusedError) {
        this.refusedHash = doc.hash
        this.fail('refused', err.message)
        this.o.log.error({ mas: mas.url, hash: short(doc.hash), mas_error: err.message }, 'MAS refused the policy data (400); it keeps the data it had, and this document is not sent again')
        return
      }
      if (!(err instanceof MasUnavailableError)) throw err
      this.fail('error', err.message)
      this.backOff()
      this.o.log.warn({ mas: mas.url, err: err.message, retry_in_ms: this.retryAt - Date.now() }, 'cannot push the policy data to MAS; trying again later')
    }
  }

  private backOff (): void {
    this.failures++
    this.retryAt = Date.now() + Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(this.failures - 1, 16))
  }
}
