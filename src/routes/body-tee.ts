import { Transform, type TransformCallback } from 'node:stream'

/**
 * Passes a request body through as it arrives and keeps a copy of at most `limit` bytes, for
 * reading once it has all gone by. Past the limit (or a Content-Length declaring more) nothing
 * is kept: the body still streams, and `copy()` is null. Memory per request stays at the limit
 * plus the stream buffers, whatever the client declares or how slowly it sends.
 */
export class BodyTee extends Transform {
  private chunks: Buffer[] | null = []
  private size = 0
  private ended = false

  constructor (private readonly limit: number, declaredLength?: number) {
    super()
    if (declaredLength !== undefined && declaredLength > limit) this.chunks = null
  }

  override _transform (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.chunks !== null) {
      this.size += chunk.length
      if (this.size <= this.limit) this.chunks.push(chunk)
      else this.chunks = null
    }
    cb(null, chunk)
  }

  override _flush (cb: TransformCallback): void {
    this.ended = true
    cb()
  }

  /** The whole body, when it ended and fit; null otherwise. */
  copy (): Buffer | null {
    return this.ended && this.chunks !== null ? Buffer.concat(this.chunks, this.size) : null
  }

  /** Did the body go past the limit? */
  get overflowed (): boolean { return this.chunks === null }
}
