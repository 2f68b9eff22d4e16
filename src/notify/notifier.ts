import { randomUUID } from 'node:crypto'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics.js'
import type { Medium } from '../synapse/canonical.js'
import { sendRoomMessage } from './matrix-room.js'
import { SendQueue, type QueueStatus } from './queue.js'
import type { NotifySettings } from './settings.js'
import { postWebhook } from './webhook.js'

// Notices to the operators: an account registered through the gate, a new access request, and
// (notify.denials) each policy denial. Each is queued for every configured channel (the
// operators' Matrix room, the webhook) and sent in the background: a request never waits on one.
// The settings are read at each notice, so a reload applies to the next.

export type Channel = 'matrix' | 'webhook'

export type Notice =
  | { event: 'registration', user_id: string, threepid: { medium: Medium, address: string } | null, rule: string }
  | { event: 'access_request', id: string, medium: Medium, address: string, client_ip: string }
  | { event: 'denial', endpoint: string, medium: Medium, address: string, rule: string, detail: string, client_ip: string }

export interface NotifierDeps {
  settings: () => NotifySettings
  homeserverUrl: () => string
  log: Logger
  metrics: Pick<Metrics, 'notifications'>
  /** Backoff of the queues (tests shorten it) */
  baseBackoffMs?: number
}

const HOUR_MS = 3_600_000

/** The text the room gets: one line, addresses already redacted. */
export function noticeText (n: Notice): string {
  switch (n.event) {
    case 'registration':
      return `New account ${n.user_id} registered through regguard${n.threepid === null ? ' (no email or phone)' : ` with ${n.threepid.medium} ${n.threepid.address}`}, allowed by ${n.rule}`
    case 'access_request':
      return `Access request ${n.id}: ${n.medium} ${n.address} asks to join (client ${n.client_ip}); approve or reject it in the regguard console`
    case 'denial':
      return `Denied ${n.endpoint} requestToken for ${n.medium} ${n.address} by ${n.rule} (${n.detail}), client ${n.client_ip}`
  }
}

export class Notifier {
  private readonly queues: Record<Channel, SendQueue>
  private denialWindow = { start: 0, count: 0 }
  /** Aborts the sends under way when the app closes: none outlives it */
  private readonly stopped = new AbortController()
  /** Denial notices not sent, past notify.denials_per_hour (also counted as result "rate_limited") */
  deniedUnsent = 0

  constructor (private readonly deps: NotifierDeps) {
    const queue = (channel: Channel): SendQueue => new SendQueue({
      maxQueued: () => deps.settings().max_queued,
      attempts: () => deps.settings().attempts,
      ...(deps.baseBackoffMs !== undefined ? { baseBackoffMs: deps.baseBackoffMs } : {}),
      onResult: (result, err) => {
        deps.metrics.notifications.inc({ channel, result })
        if (result === 'failed') deps.log.error({ err, channel }, 'notice given up after notify.attempts')
        else if (result === 'retried') deps.log.warn({ err, channel }, 'notice not sent; retrying')
        else if (result === 'dropped') deps.log.warn({ channel }, 'notice dropped: the queue is full (notify.max_queued)')
      }
    })
    this.queues = { matrix: queue('matrix'), webhook: queue('webhook') }
  }

  registered (n: Omit<Extract<Notice, { event: 'registration' }>, 'event'>): void {
    this.send({ event: 'registration', ...n })
  }

  accessRequested (n: Omit<Extract<Notice, { event: 'access_request' }>, 'event'>): void {
    this.send({ event: 'access_request', ...n })
  }

  /** Only with notify.denials, and at most notify.denials_per_hour (per instance) */
  denied (n: Omit<Extract<Notice, { event: 'denial' }>, 'event'>, now = Date.now()): void {
    const s = this.deps.settings()
    if (!s.denials || !this.anyChannel(s)) return
    const start = now - (now % HOUR_MS)
    if (this.denialWindow.start !== start) this.denialWindow = { start, count: 0 }
    if (this.denialWindow.count >= s.denials_per_hour) {
      this.deniedUnsent++
      for (const channel of this.channels(s)) this.deps.metrics.notifications.inc({ channel, result: 'rate_limited' })
      return
    }
    this.denialWindow.count++
    this.send({ event: 'denial', ...n })
  }

  /** For /ready: each configured channel's queue */
  status (): Partial<Record<Channel, QueueStatus>> {
    const s = this.deps.settings()
    const out: Partial<Record<Channel, QueueStatus>> = {}
    if (s.matrix.room_id !== '') out.matrix = this.queues.matrix.status()
    if (s.webhook !== '') out.webhook = this.queues.webhook.status()
    return out
  }

  close (): void {
    this.stopped.abort()
    for (const channel of ['matrix', 'webhook'] as const) {
      const left = this.queues[channel].close()
      if (left > 0) this.deps.log.warn({ channel, dropped: left }, 'notices not sent before stopping')
    }
  }

  private anyChannel (s: NotifySettings): boolean {
    return this.channels(s).length > 0
  }

  private channels (s: NotifySettings): Channel[] {
    return [...(s.matrix.room_id !== '' ? ['matrix' as const] : []), ...(s.webhook !== '' ? ['webhook' as const] : [])]
  }

  private send (notice: Notice): void {
    const s = this.deps.settings()
    const at = Date.now()
    if (s.matrix.room_id !== '') {
      const txnId = `regguard-${randomUUID()}`
      const text = noticeText(notice)
      this.queues.matrix.push(async () => {
        const now = this.deps.settings()
        if (now.matrix.room_id === '') return
        await sendRoomMessage({ homeserverUrl: this.deps.homeserverUrl(), roomId: now.matrix.room_id, accessToken: now.matrix.access_token }, txnId, text, now.timeout_ms, this.stopped.signal)
      })
    }
    if (s.webhook !== '') {
      // one body for every attempt: the receiver can tell a retry by its id
      const body = JSON.stringify({ id: randomUUID(), at, ...notice })
      this.queues.webhook.push(async () => {
        const now = this.deps.settings()
        if (now.webhook === '') return
        await postWebhook(now.webhook, now.webhook_secret, body, now.timeout_ms, this.stopped.signal)
      })
    }
  }
}
