import { canonicalDomain } from './canonical.js'

/**
 * A domain list in ma1sd's documented syntax, looked up by suffix in two hash sets so a
 * decision costs one lookup per label of the address, whatever the length of the list:
 *   *example.org  -> example.org and every subdomain
 *   .example.org  -> subdomains only
 *   example.org   -> exactly that domain
 */
export interface DomainMatch {
  /** The entry as it would be written to match this way: "example.org" or ".example.org". */
  entry: string
}

export class DomainSet {
  private readonly exact = new Set<string>()
  private readonly parents = new Set<string>()

  get size (): number { return this.exact.size + this.parents.size }

  /** Adds one entry; returns false when it is not a usable domain. */
  add (entry: string): boolean {
    let e = entry.trim()
    let withParent = false
    let withExact = true
    if (e.startsWith('*')) { e = e.slice(1); withParent = true }
    if (e.startsWith('.')) { e = e.slice(1); withParent = true; withExact = false }
    const d = canonicalDomain(e)
    if (d === null) return false
    if (withExact) this.exact.add(d)
    if (withParent) this.parents.add(d)
    return true
  }

  match (domain: string): DomainMatch | undefined {
    if (this.exact.has(domain)) return { entry: domain }
    if (this.parents.size === 0) return undefined
    let i = domain.indexOf('.')
    while (i !== -1) {
      const parent = domain.slice(i + 1)
      if (this.parents.has(parent)) return { entry: '.' + parent }
      i = domain.indexOf('.', i + 1)
    }
    return undefined
  }
}
