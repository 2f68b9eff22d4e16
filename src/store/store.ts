import type { Medium } from '../synapse/canonical.js'
import type { AccessRequestStore } from './access-requests-store.js'

// The one storage interface regguard uses. Invites now; sessions and rate-limit counters are
// here already so the schema (and its migrations) is made once, for issue 4.

export type InviteSource = 'traffic' | 'admin' | 'import' | 'approval'

export interface Invite {
  /** Opaque to callers; decimal digits today, ordered by creation. */
  id: string
  medium: Medium
  /** Canonical form (src/synapse/canonical.ts) */
  address: string
  room_id: string | null
  source: InviteSource
  created_at: number
  expires_at: number
  revoked_at: number | null
  /** The user whose invite taught it (learned invites); null otherwise and for older invites */
  inviter: string | null
}

export interface NewInvite {
  medium: Medium
  address: string
  room_id: string | null
  source: InviteSource
  expires_at: number
  /** Defaults to the time of the insert */
  created_at?: number
  /** Defaults to null */
  inviter?: string | null
}

export interface InviteQuery {
  medium?: Medium
  address?: string
  inviter?: string
  limit: number
  /** The `next` token of a previous page (of the same order) */
  from?: string
  /** Newest first (the console); default oldest first */
  newestFirst?: boolean
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
  /** Revokes every pending (not yet revoked) invite of this inviter; how many it revoked. */
  revokeByInviter: (inviter: string, now?: number) => Promise<number>
  /** How many invites this inviter taught (revoked ones included) created at or after `since`. */
  countByInviter: (inviter: string, since: number) => Promise<number>
}

/**
 * Transaction keys of PUT requests (path + requester, as Synapse keys its transaction cache):
 * the homeserver answers a repeated key from its cache without reading the new body, so only
 * the first request with a key may teach an invite.
 */
export interface TxnStore {
  /**
   * Claims every key for this request. True when all were unknown (or forgotten: expired at
   * `now`); then `claim` identifies this request in finish/release. A known key still `running`
   * becomes `contested`, so the first request learns nothing either.
   */
  claim: (keys: string[], claim: string, now: number, ttlMs: number) => Promise<boolean>
  /** The first request was answered with success: true when no other request came meanwhile. */
  finish: (keys: string[], claim: string) => Promise<boolean>
  /** The first request was answered with an error: the homeserver forgot the keys, so do we. */
  release: (keys: string[], claim: string) => Promise<void>
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

/** The 3PID stage regguard let through /register, and what allowed its address. */
export interface PassedThreepid {
  medium: Medium
  /** Canonical */
  address: string
  /** The invite that allowed it (rule "invite"), else null */
  invite_id: string | null
  /** That invite's source ('traffic': learned from a room invite) */
  invite_source: InviteSource | null
}

/** What regguard saw pass in one user-interactive auth session of /register. */
export interface UiaRecord {
  session: string
  threepid: PassedThreepid | null
  /** The lower-cased localpart last judged by the username rules in it */
  username: string | null
  /** The /register request target that opened it (Synapse binds a session to its URI) */
  target: string | null
  expires_at: number
}

export interface UiaStore {
  /**
   * Adds to the session's record: a 3PID stage, once recorded, stays (a later one replaces it);
   * a username replaces the one before; absent fields keep what is there. Also forgets
   * records expired at `now`, now and then.
   */
  note: (session: string, what: { threepid?: PassedThreepid, username?: string, target?: string }, expiresAt: number, now: number) => Promise<void>
  /** The record, unless unknown or expired at `now` */
  get: (session: string, now: number) => Promise<UiaRecord | null>
}

/** An account Synapse created through a /register regguard let through with a 3PID stage. */
export interface Registration extends PassedThreepid {
  user_id: string
  registered_at: number
}

export interface RegistrationStore {
  /** Records (or replaces) the account's record */
  put: (registration: Registration) => Promise<void>
  get: (userId: string) => Promise<Registration | null>
}

export interface RateLimitStore {
  /**
   * Counts one hit on `key` in the fixed window of `windowMs` holding `now`, and returns the
   * count in that window including this hit. One statement, so instances sharing the store
   * count together. Use one window length per key.
   */
  hit: (key: string, windowMs: number, now: number) => Promise<number>
}

/** One policy decision as the history keeps it (src/audit/recorder.ts writes them). */
export interface NewDecision {
  at: number
  /** register, account (the requestToken endpoints), threepid_check */
  endpoint: string
  /** email, msisdn, or none (a /register refusal without a 3PID stage) */
  medium: string
  result: 'allow' | 'deny'
  rule: string
  detail: string
  client_ip: string
  /** Redacted as the logs redact it (src/log.ts); null when the decision had no address */
  address: string | null
  /** An email's domain, whole, so the history can be filtered by it */
  domain: string | null
  /**
   * How many identical decisions (all of the above but `at`, which is the first one's) this row
   * stands for: the recorder folds repeats waiting in its queue into one row. Default 1.
   */
  count?: number
}

export interface Decision extends Omit<NewDecision, 'count'> {
  count: number
  /** Opaque, ordered by recording */
  id: string
}

export interface DecisionQuery {
  limit: number
  /** The `next` token of a previous page (pages go from newest to oldest) */
  from?: string
  result?: 'allow' | 'deny'
  rule?: string
  medium?: string
  domain?: string
  /** The address as the history holds it (redacted as the logs redact it) */
  address?: string
}

export interface DecisionPage {
  decisions: Decision[]
  /** Absent on the last page */
  next?: string
}

export interface DecisionCount {
  /** Start of the hour, epoch milliseconds */
  hour: number
  result: string
  rule: string
  count: number
}

export interface DecisionStore {
  /** One batch, in one statement. */
  addMany: (decisions: NewDecision[]) => Promise<void>
  /** Newest first. */
  list: (query: DecisionQuery) => Promise<DecisionPage>
  /** Counts per hour, result and rule of the decisions at or after `sinceMs` and before `now`. */
  summary: (sinceMs: number, now: number) => Promise<DecisionCount[]>
  /** Deletes decisions recorded before `before`; returns how many. */
  sweep: (before: number) => Promise<number>
  /**
   * Deletes the oldest rows (by id), at most `atMost` of them, towards at most `maxRows` left;
   * returns the rows deleted and the decisions they stood for (their counts). Ids only grow, with
   * gaps at most: gaps make it keep fewer.
   */
  trim: (maxRows: number, atMost: number) => Promise<{ rows: number, decisions: number }>
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres'
  invites: InviteStore
  decisions: DecisionStore
  sessions: SessionStore
  rateLimits: RateLimitStore
  txns: TxnStore
  uia: UiaStore
  registrations: RegistrationStore
  /** Asks to join (src/store/access-requests-store.ts) */
  accessRequests: AccessRequestStore
  /**
   * Deletes what can no longer matter: sessions expired at `now`, rate-limit windows that
   * started before `now - rateLimitHorizonMs`, transaction keys expired at `now`. Invites are kept (expired ones stay listable).
   */
  sweep: (now: number, rateLimitHorizonMs: number) => Promise<{ sessions: number, rateLimits: number, txns: number }>
  /** One round trip to the database: fails when it cannot be reached (used by /ready). */
  ping: () => Promise<void>
  /**
   * The secret stored under `name`, made by `make` and stored the first time it is asked for.
   * Race-safe: instances asking at once all get the one value stored first.
   */
  secret: (name: string, make: () => string) => Promise<string>
  close: () => Promise<void>
  /** What the in-memory invite index (src/invites/index.ts) reads; absent on stores without one */
  inviteFeed?: InviteFeed
}

/** The key of a (medium, canonical address) pair in the invite index */
export function inviteKey (medium: Medium, address: string): string { return `${medium}:${address}` }

export interface InviteFeedEvents {
  /** Invites were written elsewhere: their keys, or null when unknown (read everything again) */
  written: (keys: string[] | null) => void
  /** The watch on other writers went down (false) or is up again (true); while down, nothing written elsewhere is seen */
  up: (up: boolean) => void
}

export interface InviteWatch {
  /**
   * SQLite: a number that changes whenever another connection (the CLI) commits to the file;
   * compared synchronously on each lookup, read anew when its last reading is 5 ms old, so
   * nothing written there is missed for longer (a reading older than the data it is stored
   * with only costs one more re-reading)
   */
  version?: () => number
  /** Checks that the watch still works (a silent connection); false: it went down */
  check: () => Promise<boolean>
  close: () => Promise<void>
}

export interface InviteFeed {
  /** The keys of every invite pending at `now` (one SELECT); with `version` read just before, when the watch has one */
  pendingKeys: (now: number) => Promise<string[]>
  /** Starts watching the writes made by other connections */
  watch: (events: InviteFeedEvents) => InviteWatch
}

/** Raised when the configured store cannot be opened or migrated; the message names storage.url. */
export class StoreOpenError extends Error {}
