import type { Medium } from '../policy/canonical.js'

// The one storage interface regguard uses. Invites now; sessions and rate-limit counters are
// here already so the schema (and its migrations) is made once, for issue 4.

export type InviteSource = 'traffic' | 'admin' | 'import'

export interface Invite {
  /** Opaque to callers; decimal digits today, ordered by creation. */
  id: string
  medium: Medium
  /** Canonical form (src/policy/canonical.ts) */
  address: string
  room_id: string | null
  source: InviteSource
  created_at: number
  expires_at: number
  revoked_at: number | null
}

export interface NewInvite {
  medium: Medium
  address: string
  room_id: string | null
  source: InviteSource
  expires_at: number
  /** Defaults to the time of the insert */
  created_at?: number
}

export interface InviteQuery {
  medium?: Medium
  address?: string
  limit: number
  /** The `next` token of a previous page */
  from?: string
}

export interface InvitePage {
  invites: Invite[]
  /** Absent on the last page */
  next?: string
}

export interface InviteStore {
  add: (invite: NewInvite) => Promise<Invite>
  /** All or nothing, in one transaction. */
  addMany: (invites: NewInvite[]) => Promise<Invite[]>
  /** The newest invite for the address that is neither expired nor revoked at `now`. */
  findPending: (medium: Medium, address: string, now: number) => Promise<Invite | null>
  list: (query: InviteQuery) => Promise<InvitePage>
  get: (id: string) => Promise<Invite | null>
  /** Marks it revoked (once: the first time is kept); false when no such invite exists. */
  revoke: (id: string, now?: number) => Promise<boolean>
}

export interface TokenSession {
  client_secret: string
  sid: string
  medium: Medium
  address: string
  /** Which requestToken endpoint created it: 'register' or 'account' */
  endpoint: string
  expires_at: number
}

export interface SessionStore {
  /** Records (or replaces) the session with this client_secret and sid. */
  put: (session: TokenSession) => Promise<void>
  /** The session, unless it is unknown or expired at `now`. */
  get: (clientSecret: string, sid: string, now: number) => Promise<TokenSession | null>
}

export interface RateLimitStore {
  /**
   * Counts one hit on `key` in the fixed window of `windowMs` holding `now`, and returns the
   * count in that window including this hit. One statement, so instances sharing the store
   * count together. Use one window length per key.
   */
  hit: (key: string, windowMs: number, now: number) => Promise<number>
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres'
  invites: InviteStore
  sessions: SessionStore
  rateLimits: RateLimitStore
  /**
   * Deletes what can no longer matter: sessions expired at `now`, rate-limit windows that
   * started before `now - rateLimitHorizonMs`. Invites are kept (expired ones stay listable).
   */
  sweep: (now: number, rateLimitHorizonMs: number) => Promise<{ sessions: number, rateLimits: number }>
  /**
   * The secret stored under `name`, made by `make` and stored the first time it is asked for.
   * Race-safe: instances asking at once all get the one value stored first.
   */
  secret: (name: string, make: () => string) => Promise<string>
  close: () => Promise<void>
}

/** Raised when the configured store cannot be opened or migrated; the message names storage.url. */
export class StoreOpenError extends Error {}
