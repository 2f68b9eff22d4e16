import { canonicalDomain } from '../synapse/canonical.js'

/**
 * A domain list in ma1sd's documented syntax, looked up by suffix so a decision costs one
 * lookup per label of the address, whatever the length of the list:
 *   *example.org  -> example.org and every subdomain
 *   .example.org  -> subdomains only
 *   example.org   -> exactly that domain
 */
export interface DomainMatch {
  /**
   * The entry as the operator wrote it, canonicalised: "*example.org" when the domain is listed
   * with its subdomains (so grep finds it in the configuration), ".example.org" for subdomains
   * only, "example.org" for the domain only.
   */
  entry: string
  /** Which source added the domain first (the number given to add()); absent when none was given */
  source?: number
}

// Disposable-domain lists run to a million lines. As JS strings in Sets they cost ~75 bytes of
// heap per entry (plus GC and rehash time at load); here every distinct domain is stored once,
// its bytes packed in one buffer, found through an open-addressing table of (hash, index) pairs
// kept side by side so a miss usually costs one memory access.

const EXACT = 1
const PARENT = 2
const FNV_OFFSET = 0x811c9dc5 | 0
const FNV_PRIME = 0x01000193
const EMPTY_I32 = new Int32Array(0)
const EMPTY_U32 = new Uint32Array(0)
const EMPTY_U8 = new Uint8Array(0)

// FNV-1a over the characters from the last one back: the state reached at a "." is the hash
// of the suffix after it, so all suffixes of a name are hashed in one pass.
function step (h: number, c: number): number { return Math.imul(h ^ c, FNV_PRIME) }

// FNV's low bits are weak and the table index is the low bits: finish with murmur3's mixer
function finish (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

// where the labels of the name being matched start, and their suffix hashes (reused: match
// allocates nothing unless it matches)
let scratchPos = new Int32Array(64)
let scratchHash = new Int32Array(64)

/** An entry in ma1sd's syntax: its canonical domain, and whether it covers it and/or its subdomains. */
export function parseDomainEntry (entry: string): { domain: string, withExact: boolean, withParent: boolean } | null {
  let e = entry.trim()
  let withParent = false
  let withExact = true
  if (e.startsWith('*')) { e = e.slice(1); withParent = true }
  if (e.startsWith('.')) { e = e.slice(1); withParent = true; withExact = false }
  const domain = canonicalDomain(e)
  return domain === null ? null : { domain, withExact, withParent }
}

export class DomainSet {
  private exactCount = 0
  private parentCount = 0
  /** distinct canonical domains stored */
  private count = 0
  /** every domain's bytes, one after the other (canonical domains are ASCII) */
  private bytes: Uint8Array = EMPTY_U8
  private used = 0
  /** starts[k]..starts[k + 1] are domain k's bytes */
  private starts: Uint32Array = EMPTY_U32
  private flags: Uint8Array = EMPTY_U8
  /** domain k's source (see add), 0: none given */
  private sources: Uint8Array = EMPTY_U8
  /** slot s: [2s] the finished hash, [2s + 1] the domain's index + 1 (0: empty); size a power of two */
  private table: Int32Array = EMPTY_I32

  /** How many ways of matching are stored (`*example.org` is two: the domain and its subdomains) */
  get size (): number { return this.exactCount + this.parentCount }
  /** How many entries were added as written (a duplicate counts again): what an operator counts */
  get entries (): number { return this.added }
  private added = 0

  /**
   * Adds one entry; returns false when it is not a usable domain. `source` (1 to 255) says where
   * it came from, for the decision to name (a config key, a list file); kept per domain, one byte.
   */
  add (entry: string, source = 0): boolean {
    const parsed = parseDomainEntry(entry)
    if (parsed === null) return false
    const { domain: d, withExact, withParent } = parsed
    // the bytes go to the free end of the buffer while hashing; kept only if d is new
    const used = this.used
    if (used + d.length > this.bytes.length) this.bytes = grown(this.bytes, used + d.length)
    const bytes = this.bytes
    let h = FNV_OFFSET
    for (let i = d.length - 1; i >= 0; i--) {
      // canonicalDomain returns only LDH ASCII, so one byte per character is exact
      const c = d.charCodeAt(i)
      bytes[used + i] = c
      h = step(h, c)
    }
    h = finish(h)
    let k = this.find(d, 0, d.length, h)
    if (k < 0) {
      k = this.append(d.length, h)
      this.sources[k] = source > 0 && source <= 255 ? source : 0
    }
    const f = this.flags[k] as number
    if (withExact && (f & EXACT) === 0) { this.flags[k] = f | EXACT; this.exactCount++ }
    if (withParent && ((this.flags[k] as number) & PARENT) === 0) { this.flags[k] = (this.flags[k] as number) | PARENT; this.parentCount++ }
    this.added++
    return true
  }

  match (domain: string): DomainMatch | undefined {
    if (this.count === 0) return undefined
    const n = domain.length
    const withParents = this.parentCount > 0
    let labels = 0
    let h = FNV_OFFSET
    for (let i = n - 1; i >= 0; i--) {
      const c = domain.charCodeAt(i)
      if (c === 46 && withParents) {
        if (labels === scratchPos.length) growScratch()
        scratchPos[labels] = i + 1
        scratchHash[labels] = finish(h)
        labels++
      }
      h = step(h, c)
    }
    if (this.exactCount > 0) {
      const k = this.find(domain, 0, n, finish(h))
      if (k >= 0 && ((this.flags[k] as number) & EXACT) !== 0) return this.found(k, ((this.flags[k] as number) & PARENT) !== 0 ? '*' + domain : domain)
    }
    // the longest listed parent, as a walk from the left would find first
    for (let j = labels - 1; j >= 0; j--) {
      const start = scratchPos[j] as number
      const k = this.find(domain, start, n, scratchHash[j] as number)
      if (k >= 0 && ((this.flags[k] as number) & PARENT) !== 0) return this.found(k, ((this.flags[k] as number) & EXACT) !== 0 ? '*' + domain.slice(start) : '.' + domain.slice(start))
    }
    return undefined
  }

  private found (k: number, entry: string): DomainMatch {
    const source = this.sources[k] as number
    return source === 0 ? { entry } : { entry, source }
  }

  /** The index of domain s[start..end), or -1. */
  private find (s: string, start: number, end: number, h: number): number {
    const table = this.table
    if (table.length === 0) return -1
    const mask = (table.length >>> 1) - 1
    const len = end - start
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const k1 = table[2 * slot + 1] as number
      if (k1 === 0) return -1
      if (table[2 * slot] === h) {
        const k = k1 - 1
        const from = this.starts[k] as number
        if ((this.starts[k + 1] as number) - from === len && this.sameBytes(from, s, start, len)) return k
      }
    }
  }

  private sameBytes (from: number, s: string, start: number, len: number): boolean {
    const bytes = this.bytes
    for (let i = 0; i < len; i++) {
      if (bytes[from + i] !== s.charCodeAt(start + i)) return false
    }
    return true
  }

  /** Keeps the `len` bytes written after the last domain as a new domain. */
  private append (len: number, h: number): number {
    const k = this.count
    if (k + 2 > this.starts.length) {
      this.starts = grown(this.starts, k + 2)
      this.flags = grown(this.flags, k + 2)
      this.sources = grown(this.sources, k + 2)
    }
    this.starts[k] = this.used
    this.used += len
    this.starts[k + 1] = this.used
    this.count = k + 1
    // at most half full: probe runs stay short
    if (this.count * 2 > this.table.length >>> 1) this.rehash(Math.max(16, this.table.length))
    this.place(this.table, h, k)
    return k
  }

  private rehash (slots: number): void {
    const old = this.table
    const table = new Int32Array(slots * 2)
    for (let s = 0; s < old.length; s += 2) {
      if (old[s + 1] !== 0) this.place(table, old[s] as number, (old[s + 1] as number) - 1)
    }
    this.table = table
  }

  private place (table: Int32Array, h: number, k: number): void {
    const mask = (table.length >>> 1) - 1
    let slot = h & mask
    while (table[2 * slot + 1] !== 0) slot = (slot + 1) & mask
    table[2 * slot] = h
    table[2 * slot + 1] = k + 1
  }
}

// grows by half again (not double): a million-entry list should not hold twice its size
function grown<T extends Uint8Array | Uint32Array> (a: T, atLeast: number): T {
  let n = Math.max(64, a.length + (a.length >>> 1))
  while (n < atLeast) n += n >>> 1
  const b = new (a.constructor as new (n: number) => T)(n)
  b.set(a)
  return b
}

function growScratch (): void {
  const pos = new Int32Array(scratchPos.length * 2)
  pos.set(scratchPos)
  const hash = new Int32Array(scratchHash.length * 2)
  hash.set(scratchHash)
  scratchPos = pos
  scratchHash = hash
}
