import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendError } from '../reply.js'

// server.body_timeout_ms: a request body that stops arriving. It uses the socket's own idle
// timer (re-armed by Node on every byte read or written, with no timer of our own per chunk),
// armed only while the body is arriving, so a long-poll /sync waiting for the homeserver is
// never cut. Node emits the request's 'timeout' only while the request is incomplete.

export interface BodyIdleEvents {
  /** The body went idle: a 408 was answered (`answered`) or the connection closed. */
  onIdle: (answered: boolean) => void
}

/**
 * Watches a request's body: idle for `ms`, the client gets 408 with Connection: close when no
 * answer has started (else the connection is closed), and the request is destroyed once that is
 * written, which ends whatever was reading the body (undici then aborts the homeserver's
 * request) and closes the connection. Call only for requests with a body; `ms` 0 watches nothing.
 */
export function watchBodyIdle (req: IncomingMessage, res: ServerResponse, ms: number, events: BodyIdleEvents): void {
  if (ms === 0 || req.complete) return
  // looked at again once the packet that brought the headers has been parsed (Node runs ticks
  // and promise callbacks before it parses the rest of the packet, immediates after): a small
  // body came with the headers, and then there is nothing to watch, no timer armed and disarmed
  setImmediate(armBodyIdle, req, res, ms, events)
}

function armBodyIdle (req: IncomingMessage, res: ServerResponse, ms: number, events: BodyIdleEvents): void {
  if (req.complete || req.destroyed) return
  const socket = req.socket
  const onTimeout = (): void => {
    req.off('end', onEnd)
    // the request itself is destroyed, not only its socket: once an answer has finished, Node no
    // longer ends the request with its connection, and undici would wait for the rest forever
    if (res.headersSent) {
      req.destroy()
      events.onIdle(false)
      return
    }
    res.once('finish', () => req.destroy())
    sendError(res, 'REQUEST_TIMEOUT', null, undefined, { Connection: 'close' })
    events.onIdle(true)
  }
  const onEnd = (): void => {
    req.off('timeout', onTimeout)
    // once the answer is finished the socket's timer is Node's keep-alive one: leave that
    if (!res.writableFinished) socket.setTimeout(0)
  }
  req.once('timeout', onTimeout)
  req.once('end', onEnd)
  socket.setTimeout(ms)
}
