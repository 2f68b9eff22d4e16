import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { MatrixErrorName } from '../errors.js'
import { sendError } from '../reply.js'
import { clientResponseHeaders } from './headers.js'

export interface UpstreamAnswer {
  status: number
  /** The response body, when it was collected (small JSON answers of interest) */
  body: Buffer | null
}

export interface ForwardRequest {
  method: string
  /** The raw request target, exactly as received */
  path: string
  headers: string[]
  body: Buffer | Readable | null
  /** Keep a copy of the response body up to this many bytes (for inspection after it is sent) */
  collectBody?: number
}

/** `refused`: undici would not send the request as received (e.g. two Host headers) */
export type ForwardFailure = 'unreachable' | 'timeout' | 'aborted' | 'refused'

export interface ForwardOutcome {
  answer: UpstreamAnswer | null
  failure: ForwardFailure | null
  /** Seconds from dispatch until the homeserver's response headers (null: none came) */
  headersSeconds: number | null
  /** Why undici refused the request (failure `refused`), in its words; else null */
  refusal: string | null
}

/**
 * The response headers as they came, [name, value, ...]: undici hands them raw to its own
 * controller (names' case and repeated headers kept); the parsed object otherwise.
 */
export function rawHeadersOf (controller: Dispatcher.DispatchController, headers: Record<string, string | string[] | undefined>): Array<Buffer | string> {
  const raw = controller.rawHeaders
  if (Array.isArray(raw)) return raw
  const out: string[] = []
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) out.push(name, v)
  }
  return out
}

export function failureOf (err: Error & { code?: string }): ForwardFailure {
  switch (err.code) {
    // thrown while undici builds the request from what the client sent, before any byte is
    // written: the request itself is at fault, not the homeserver
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
      return 'refused'
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timeout'
    case 'UND_ERR_ABORTED':
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return 'aborted'
    default:
      return 'unreachable'
  }
}

export const FAILURE_ERROR: Record<ForwardFailure, MatrixErrorName> = {
  unreachable: 'UPSTREAM_UNREACHABLE',
  timeout: 'UPSTREAM_TIMEOUT',
  aborted: 'UPSTREAM_UNREACHABLE',
  refused: 'NOT_FORWARDABLE'
}

/**
 * Sends one request to the homeserver and streams its answer to `res` as it arrives: status,
 * headers (hop-by-hop removed) and body bytes unchanged, with backpressure both ways.
 * Resolves when the exchange is over; never rejects.
 */
export function forward (pool: Dispatcher, res: ServerResponse, req: ForwardRequest): Promise<ForwardOutcome> {
  return new Promise((resolve) => {
    let abortUpstream: ((err: Error) => void) | null = null
    let resume: (() => void) | null = null
    let status = 0
    let collected: Buffer[] | null = req.collectBody !== undefined ? [] : null
    let collectedBytes = 0
    let settled = false
    const started = performance.now()
    let headersSeconds: number | null = null
    const settle = (outcome: ForwardOutcome): void => {
      if (settled) return
      settled = true
      res.off('close', onClientClose)
      res.off('drain', onDrain)
      resolve(outcome)
    }
    const onDrain = (): void => { resume?.() }
    // A client gone before its answer ended: the upstream request is aborted as soon as there is
    // one to abort. One still queued for a connection has none yet, and an answer written to a
    // closed response would pause its connection (no 'drain' ever comes) until
    // homeserver.timeout_ms: so each step checks again.
    let clientGone = false
    const goneAbort = (): boolean => {
      if (!clientGone) return false
      abortUpstream?.(new Error('client went away'))
      return true
    }
    const onClientClose = (): void => {
      if (res.writableFinished) return
      clientGone = true
      goneAbort()
    }
    res.on('close', onClientClose)

    // undici's controller API (onRequestStart ... onResponseError): the one undici 8 keeps
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart (controller) {
        abortUpstream = (err) => { controller.abort(err) }
        goneAbort()
      },
      onResponseStart (controller, statusCode, headers, statusText) {
        if (goneAbort()) return
        status = statusCode
        resume = () => { controller.resume() }
        headersSeconds ??= (performance.now() - started) / 1000
        // 1xx informational answers are not forwarded; Node answers Expect itself
        if (statusCode < 200) return
        // the client was already answered (its body went idle: 408); the upload is being cut
        if (res.headersSent) { controller.abort(new Error('client already answered')); return }
        res.writeHead(statusCode, statusText, clientResponseHeaders(rawHeadersOf(controller, headers)))
      },
      onResponseData (controller, chunk) {
        if (goneAbort()) return
        if (collected !== null) {
          collectedBytes += chunk.length
          if (collectedBytes <= (req.collectBody as number)) collected.push(Buffer.from(chunk))
          else collected = null
        }
        if (!res.write(chunk)) {
          controller.pause()
          res.once('drain', onDrain)
        }
      },
      onResponseEnd () {
        res.end()
        settle({ answer: { status, body: collected === null ? null : Buffer.concat(collected) }, failure: null, headersSeconds, refusal: null })
      },
      onResponseError (_controller, err) {
        const failure = failureOf(err as Error & { code?: string })
        if (!res.headersSent && !res.destroyed) {
          sendError(res, FAILURE_ERROR[failure])
        } else if (!res.writableEnded) {
          // mid-answer: only closing tells the client the answer is incomplete (an answer regguard
          // itself finished, such as a 408, is left to close cleanly)
          res.destroy()
        }
        settle({ answer: null, failure, headersSeconds, refusal: failure === 'refused' ? err.message : null })
      }
    }

    try {
      pool.dispatch({
        method: req.method as Dispatcher.HttpMethod,
        path: req.path,
        headers: req.headers,
        body: req.body
      } as Dispatcher.DispatchOptions, handler)
    } catch (err) {
      handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, err as Error)
    }
  })
}
