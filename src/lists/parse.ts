import { fileEntries } from '../config/lists.js'
import { DomainSet } from '../policy/domain-set.js'

// Is a fetched list body a list? A refresh that fails these checks is refused and the copy in
// force stays: a list server answering an error page with 200, a truncated or emptied file, or
// the wrong URL must not open (whitelist: close) registration.

/** More lines than this fraction that are not domain entries: not a domain list. */
export const MAX_INVALID_FRACTION = 0.01
/** A refresh left with fewer than this fraction of the previous entries is refused. */
export const MIN_KEPT_FRACTION = 0.1

export type Parsed =
  | { ok: true, domains: DomainSet, entries: number, invalid: number }
  | { ok: false, why: string }

/**
 * One domain a line in the domain-list syntax ("*x", ".x", "x"), "#" comments, blank lines;
 * the format of the disposable-email-domains list. `previous`: the entries of the copy in force.
 */
export function parseList (bytes: Buffer, contentType: string | undefined, previous: number): Parsed {
  if (contentType !== undefined && /html|xml/i.test(contentType)) return { ok: false, why: `served as ${contentType}, not a text list` }
  if (bytes.includes(0)) return { ok: false, why: 'binary content (NUL bytes)' }
  const firstByte = bytes.subarray(0, 64).toString('utf8').replace(/^\uFEFF/, '').trimStart()[0]
  if (firstByte === '<' || firstByte === '{' || firstByte === '[') return { ok: false, why: 'markup or JSON, not a text list' }
  const domains = new DomainSet()
  let lines = 0
  let invalid = 0
  let firstInvalid = ''
  for (const [n, entry] of fileEntries(bytes)) {
    lines++
    if (!domains.add(entry)) {
      if (invalid === 0) firstInvalid = `line ${n}: ${JSON.stringify(entry.slice(0, 80))}`
      invalid++
    }
  }
  if (invalid > lines * MAX_INVALID_FRACTION) return { ok: false, why: `${invalid} of ${lines} lines are not domains (first: ${firstInvalid})` }
  // the lines kept, as an operator counts them (a "*x" line is two in DomainSet.size)
  const entries = lines - invalid
  if (entries === 0) return { ok: false, why: 'no entries' }
  if (entries < previous * MIN_KEPT_FRACTION) return { ok: false, why: `shrank from ${previous} to ${entries} entries (more than ${Math.round((1 - MIN_KEPT_FRACTION) * 100)}%)` }
  return { ok: true, domains, entries, invalid }
}
