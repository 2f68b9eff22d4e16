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

/**
 * The whole body when all of it has arrived and waits, unread, in the request's buffer (a small
 * body comes in the headers' packet): taken at once, without listeners. Node still emits 'end'
 * once the buffer is empty, as after any read to the end.
 */
function alreadyArrived (req: IncomingMessage): Buffer | null {
  if (!req.complete || req.readableFlowing === true || req.destroyed || req.listenerCount('data') > 0) return null
  const chunks: Buffer[] = []
  let size = 0
  for (let chunk = req.read() as Buffer | null; chunk !== null; chunk = req.read() as Buffer | null) { chunks.push(chunk); size += chunk.length }
  return chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks, size)
}

/** Reads a whole request body of at most `limit` bytes; never buffers much more than that. */
export function readBody (req: IncomingMessage, limit = BODY_LIMIT): Promise<BodyResult> {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve({ ok: false, reason: 'too-large', prefix: Buffer.alloc(0) })
  const whole = alreadyArrived(req)
  if (whole !== null) return Promise.resolve(whole.length > limit ? { ok: false, reason: 'too-large', prefix: whole } : { ok: true, bytes: whole })
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
    // one chunk (a small body) is taken as it is: Node's parser hands each chunk a copy of its own
    const onEnd = (): void => done({ ok: true, bytes: chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks, size) })
    const onError = (): void => done({ ok: false, reason: 'aborted' })
    const onClose = (): void => { if (!req.complete) done({ ok: false, reason: 'aborted' }) }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}
