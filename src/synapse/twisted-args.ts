// Request arguments exactly as Twisted builds `request.args` (twisted.web.http.Request
// .requestReceived, Twisted 22.4) and Synapse reads them: every argument regguard reads comes
// from here, so the gate and the homeserver can never disagree about a name or a value.
// Names and values are bytes in Twisted; here they are latin1 strings (one char per byte), so
// no decoding can merge two different byte strings.

export type Args = Map<string, string[]>

const HEX = /^[0-9A-Fa-f]{2}$/

/** urllib.parse.unquote_to_bytes on a latin1 string: "%XX" with two hex digits, nothing else. */
export function unquoteToBytes (s: string): string {
  if (!s.includes('%')) return s
  const bits = s.split('%')
  let out = bits[0] as string
  for (let i = 1; i < bits.length; i++) {
    const item = bits[i] as string
    const hex = item.slice(0, 2)
    out += HEX.test(hex) ? String.fromCharCode(parseInt(hex, 16)) + item.slice(2) : '%' + item
  }
  return out
}

/**
 * twisted.web.http.parse_qs(qs, keep_blank_values=1): split on "&" and ";", a pair without "="
 * dropped, "+" a space, then percent-decoded; repeated names keep every value in order.
 */
export function parseQs (qs: string, into: Args = new Map()): Args {
  for (const s1 of qs.split('&')) {
    for (const item of s1.split(';')) {
      const eq = item.indexOf('=')
      if (eq === -1) continue
      const k = unquoteToBytes(item.slice(0, eq).replace(/\+/g, ' '))
      const v = unquoteToBytes(item.slice(eq + 1).replace(/\+/g, ' '))
      const list = into.get(k)
      if (list === undefined) into.set(k, [v])
      else list.push(v)
    }
  }
  return into
}

// Python's str.strip() on a latin1-decoded header: Unicode whitespace in that range
const PY_WS = '\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0'
function pyStripLatin1 (s: string): string {
  let a = 0
  let b = s.length
  while (a < b && PY_WS.includes(s[a] as string)) a++
  while (b > a && PY_WS.includes(s[b - 1] as string)) b--
  return s.slice(a, b)
}

/**
 * The media type as cgi.parse_header reads it: the first ";"-separated part (a ";" inside an
 * odd number of quotes does not separate), stripped, NOT lower-cased.
 */
export function cgiMediaType (value: string): string {
  let end = value.indexOf(';')
  const quotesBefore = (e: number): number => {
    const head = value.slice(0, e)
    return head.split('"').length - head.split('\\"').length
  }
  while (end > 0 && quotesBefore(end) % 2 !== 0) end = value.indexOf(';', end + 1)
  if (end < 0) end = value.length
  return pyStripLatin1(value.slice(0, end))
}

/** The first value of a header, by case-insensitive name, from Node's rawHeaders. */
export function firstRawHeader (rawHeaders: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === lowerName) return rawHeaders[i + 1]
  }
  return undefined
}

export function allRawHeaders (rawHeaders: readonly string[], lowerName: string): string[] {
  const out: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === lowerName) out.push(rawHeaders[i + 1] as string)
  }
  return out
}

export const FORM_URLENCODED = 'application/x-www-form-urlencoded'

/**
 * Does Twisted read this request's body as form arguments? A POST whose first Content-Type's
 * media type is exactly application/x-www-form-urlencoded and whose body is not empty.
 */
export function bodyIsForm (method: string, rawHeaders: readonly string[]): boolean {
  if (method !== 'POST') return false
  const ctype = firstRawHeader(rawHeaders, 'content-type')
  return ctype !== undefined && ctype !== '' && cgiMediaType(ctype) === FORM_URLENCODED
}

/**
 * SynapseRequest.requestReceived (synapse/http/site.py) answers 415 to a POST whose first
 * Content-Type merely contains multipart/form-data, before Twisted reads any argument: such a
 * request has no arguments Synapse acts on, and (its body being no JSON) creates nothing.
 */
export function synapseRefusesMultipart (method: string, rawHeaders: readonly string[]): boolean {
  if (method !== 'POST') return false
  const ctype = firstRawHeader(rawHeaders, 'content-type')
  return ctype !== undefined && ctype.includes('multipart/form-data')
}

export interface ArgsSource {
  method: string
  /** The raw request target (Node's req.url: one char per byte) */
  target: string
  rawHeaders: readonly string[]
  /** The whole body, when the caller has it; null when it was not read (then form args are unknown) */
  body: Buffer | null
}

/**
 * request.args as Synapse sees it: the query's arguments, then (for a form POST with a body)
 * the body's arguments replacing the query's values name by name (Python's dict.update).
 * `formUnknown` is true when the body would be read as a form but was not given.
 */
export function requestArgs (src: ArgsSource): { args: Args, formUnknown: boolean } {
  const q = src.target.indexOf('?')
  const args: Args = q === -1 ? new Map() : parseQs(src.target.slice(q + 1))
  if (!bodyIsForm(src.method, src.rawHeaders)) return { args, formUnknown: false }
  if (src.body === null) return { args, formUnknown: true }
  if (src.body.length === 0) return { args, formUnknown: false }
  for (const [k, v] of parseQs(src.body.toString('latin1'))) args.set(k, v)
  return { args, formUnknown: false }
}

/** The first value of a name, as Synapse's parse_* helpers take it. */
export function firstArg (args: Args, name: string): string | undefined {
  return args.get(name)?.[0]
}

const ASCII = /^[\x00-\x7f]*$/

/**
 * Synapse's parse_string(request, name): the first value decoded as ASCII; undefined when the
 * name is absent, null when that value is not ASCII (Synapse answers 400).
 */
export function stringArg (args: Args, name: string): string | undefined | null {
  const v = firstArg(args, name)
  return v === undefined || ASCII.test(v) ? v : null
}
