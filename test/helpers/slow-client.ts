import { connect, type Socket } from 'node:net'
import { parseRawResponse, type RawResponse } from './raw-http.js'

// A client that sends its request head at once and then its body a little at a time (or
// stops), the way a slow or malicious client does; what it gets back is kept.

export interface SlowClient {
  socket: Socket
  /** Resolves when the connection closes, with whatever was answered */
  closed: Promise<RawResponse>
  /** Bytes of the body written so far */
  sent: () => number
  /** Stops sending (the connection stays open) */
  stop: () => void
  /** Closes the connection */
  destroy: () => void
}

export interface TrickleOptions {
  /** Request head lines, without the blank line */
  head: string[]
  /** The whole body; sent `bytesPerTick` at a time */
  body: Buffer
  intervalMs: number
  bytesPerTick?: number
  /** Stop after this many bytes (the rest is never sent) */
  stopAfter?: number
}

export function trickle (port: number, opts: TrickleOptions): SlowClient {
  const socket = connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', (c) => chunks.push(c))
  socket.on('error', () => {})
  const closed = new Promise<RawResponse>((resolve) => socket.on('close', () => resolve(parseRawResponse(Buffer.concat(chunks).toString('latin1')))))
  let sent = 0
  const step = opts.bytesPerTick ?? 1
  const limit = Math.min(opts.stopAfter ?? opts.body.length, opts.body.length)
  socket.write(opts.head.join('\r\n') + '\r\n\r\n')
  const timer = setInterval(() => {
    if (sent >= limit || socket.destroyed) { clearInterval(timer); return }
    const next = Math.min(sent + step, limit)
    socket.write(opts.body.subarray(sent, next))
    sent = next
  }, opts.intervalMs)
  socket.on('close', () => clearInterval(timer))
  return { socket, closed, sent: () => sent, stop: () => clearInterval(timer), destroy: () => { clearInterval(timer); socket.destroy() } }
}

/** Polls `cond` until it holds or `timeoutMs` passes (then throws, naming `what`). */
export async function until (cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
