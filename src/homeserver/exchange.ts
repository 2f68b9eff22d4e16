import type { ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import { clientResponseHeaders } from './headers.js'
import { failureOf, rawHeadersOf, type ForwardFailure, type ForwardRequest } from './forward.js'

// A buffered round trip, for the few answers regguard must read or rewrite before the client
// sees them (/register's user-interactive auth). Everything else streams through forward().

export interface Exchanged {
  status: number
  statusText: string
  /** flat [name, value, ...], hop-by-hop removed */
  headers: string[]
  body: Buffer
}

/** `refusal`: undici's reason, when it refused the request (failure `refused`) */
export type ExchangeResult = { ok: true, answer: Exchanged } | { ok: false, failure: ForwardFailure, refusal: string | null }

const MAX_BUFFERED = 1024 * 1024

export function exchange (pool: Dispatcher, req: Omit<ForwardRequest, 'collectBody'>): Promise<ExchangeResult> {
  return new Promise((resolve) => {
    let status = 0
    let statusText = ''
    let headers: string[] = []
    const chunks: Buffer[] = []
    let size = 0
    // undici's controller API (the one undici 8 keeps); undici 7 picks it by onRequestStart
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart () {},
      onResponseStart (controller, statusCode, parsed, text) {
        if (statusCode < 200) return
        status = statusCode
        statusText = text ?? ''
        headers = clientResponseHeaders(rawHeadersOf(controller, parsed))
      },
      onResponseData (controller, chunk) {
        size += chunk.length
        if (size > MAX_BUFFERED) { controller.abort(new Error('answer too large to inspect')); return }
        chunks.push(Buffer.from(chunk))
      },
      onResponseEnd () { resolve({ ok: true, answer: { status, statusText, headers, body: Buffer.concat(chunks, size) } }) },
      onResponseError (_controller, err) {
        const failure = failureOf(err as Error & { code?: string })
        resolve({ ok: false, failure, refusal: failure === 'refused' ? err.message : null })
      }
    }
    try {
      pool.dispatch({ method: req.method as Dispatcher.HttpMethod, path: req.path, headers: req.headers, body: req.body } as Dispatcher.DispatchOptions, handler)
    } catch (err) {
      handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, err as Error)
    }
  })
}

/** Sends an exchanged answer to the client, with a replacement body if given. */
export function sendExchanged (res: ServerResponse, answer: Exchanged, body?: Buffer): void {
  const out = body ?? answer.body
  const headers: string[] = []
  for (let i = 0; i < answer.headers.length; i += 2) {
    if ((answer.headers[i] as string).toLowerCase() !== 'content-length') headers.push(answer.headers[i] as string, answer.headers[i + 1] as string)
  }
  headers.push('Content-Length', String(out.length))
  res.writeHead(answer.status, answer.statusText, headers)
  res.end(out)
}
