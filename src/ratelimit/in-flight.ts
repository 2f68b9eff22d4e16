// Requests each client has at the homeserver right now (server.per_client_concurrency). Every
// pooled connection a slow client holds is one nobody else can use; a cap per client keeps a
// handful of clients from holding them all. In memory and per instance on purpose: what is
// counted is this instance's connections.

export class InFlight {
  // only clients with a request in flight have an entry, so the map is bounded by open requests
  private readonly counts = new Map<string, number>()

  /** Counts one more request for `key`; false (and nothing counted) if it already has `max`. */
  enter (key: string, max: number): boolean {
    const n = this.counts.get(key) ?? 0
    if (n >= max) return false
    this.counts.set(key, n + 1)
    return true
  }

  /** One request of `key` ended (whichever way). */
  leave (key: string): void {
    const n = this.counts.get(key)
    if (n === undefined) return
    if (n <= 1) this.counts.delete(key)
    else this.counts.set(key, n - 1)
  }

  count (key: string): number { return this.counts.get(key) ?? 0 }

  /** Clients with a request in flight */
  get clients (): number { return this.counts.size }
}
