import type { IncomingMessage } from 'node:http'

export const BODY_LIMIT = 64 * 1024

export type BodyResult =
  | { ok: true, bytes: Buffer }
  /** `prefix`: what was read before the limit was crossed (the stream is left paused after it) */
  | { ok: false, reason: 'too-large', prefix: Buffer }
  | { ok: false, reason: 'aborted' }

export function hasBody (req: IncomingMessage): boolean {
  const h = req.headers
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0')
}

/** Reads a whole request body of at most `limit` bytes; never buffers much more than that. */
export function readBody (req: IncomingMessage, limit = BODY_LIMIT): Promise<BodyResult> {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve({ ok: false, reason: 'too-large', prefix: Buffer.alloc(0) })
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (r: BodyResult): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
      resolve(r)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      chunks.push(chunk)
      if (size > limit) { req.pause(); done({ ok: false, reason: 'too-large', prefix: Buffer.concat(chunks, size) }) }
    }
    const onEnd = (): void => done({ ok: true, bytes: Buffer.concat(chunks, size) })
    const onError = (): void => done({ ok: false, reason: 'aborted' })
    const onClose = (): void => { if (!req.complete) done({ ok: false, reason: 'aborted' }) }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}
