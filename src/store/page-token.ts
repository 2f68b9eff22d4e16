// Page tokens are opaque to clients so the ordering key can change without breaking them; each
// list has its own prefix, so a token from one list is refused by another.

export class InvalidPageToken extends Error {}

export interface PageTokens {
  encode: (id: string) => string
  /** The id a token names, or null when it is not a token this list gave out */
  decode: (token: string) => number | null
}

export function pageTokens (prefix: string): PageTokens {
  const shape = new RegExp(`^${prefix}:([0-9]{1,15})$`)
  return {
    encode: (id) => Buffer.from(`${prefix}:${id}`).toString('base64url'),
    decode: (token) => {
      const m = shape.exec(Buffer.from(token, 'base64url').toString('latin1'))
      return m === null ? null : Number(m[1])
    }
  }
}
