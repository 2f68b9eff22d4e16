import { DomainSet } from './domain-set.js'

/**
 * A domain list fetched over HTTP(S), as the policy sees it: the set in force now. The policy
 * only reads it; src/lists/live.ts swaps `domains` whole when a refresh is accepted, so a
 * decision reads one consistent list.
 */
export interface LiveSlot {
  /** The URL as configured (shown with its query and credentials hidden: see displaySource) */
  url: string
  domains: DomainSet
}

export function newSlot (url: string): LiveSlot {
  return { url, domains: new DomainSet() }
}

/** The URL without user-info and with the query hidden: list URLs may carry access tokens. */
export function displaySource (url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}${u.search !== '' ? '?…' : ''}`
  } catch {
    return '(invalid URL)'
  }
}
