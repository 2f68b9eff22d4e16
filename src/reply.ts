import type { IncomingMessage, ServerResponse } from 'node:http'
import { matrixError, type MatrixErrorName } from './errors.js'
import { sendJson } from './homeserver/forward.js'

/** Answers with an entry of the Matrix error table (optionally reworded or with extra fields). */
export function sendError (res: ServerResponse, name: MatrixErrorName, message?: string | null, extra?: Record<string, unknown>, headers?: Record<string, string>): void {
  const e = matrixError(name, message, extra)
  sendJson(res, e.status, e.body, headers)
}

/**
 * Answers 413 and closes the connection: the rest of the body was never read, so the
 * connection cannot carry another request.
 */
export function sendTooLarge (req: IncomingMessage, res: ServerResponse): void {
  res.on('finish', () => req.socket.destroy())
  sendError(res, 'TOO_LARGE', null, undefined, { Connection: 'close' })
}
