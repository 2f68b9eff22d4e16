// Pass-through goes through @fastify/http-proxy and @fastify/reply-from, which build the
// upstream URL with WHATWG URL parsing: single-dot segments, "%2e" / "%2E" and backslashes are
// normalised away, characters outside the path's safe set are percent-encoded, and a "#" ends
// the path. A target so changed would reach the homeserver as another path than the one the
// route table judged (".../register/./email/requestToken" becomes a policed route regguard never
// saw). So a pass-through target is forwarded only when that parsing leaves its path exactly as
// received, and is refused otherwise (400 M_UNRECOGNIZED); the query is forwarded raw.

const BASE = 'http://homeserver.invalid'

/** Why a target cannot be forwarded byte for byte through the pass-through stack, or null. */
export function unforwardableTarget (target: string): string | null {
  if (target.charCodeAt(0) !== 0x2f /* / */) return 'not origin-form'
  const q = target.indexOf('?')
  const path = q === -1 ? target : target.slice(0, q)
  // reply-from would read "//host/..." as a base-overriding reference; http-proxy refuses it
  if (path.length > 1 && path.charCodeAt(1) === 0x2f) return 'leading "//"'
  if (path.includes('\\')) return 'backslash'
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    // reply-from and http-proxy decode the path and fail on a broken escape
    return 'invalid percent-encoding'
  }
  // reply-from refuses these in the decoded path ("/..x" included), http-proxy a ".." segment;
  // a backslash decoded from "%5C" is one too for http-proxy's check
  const slashed = decoded.replaceAll('\\', '/')
  if (slashed === '..' || slashed.includes('/..') || slashed.includes('../')) return 'dot-dot in the decoded path'
  let parsed: URL
  try {
    parsed = new URL(path, BASE)
  } catch {
    return 'unparsable path'
  }
  if (parsed.pathname !== path || parsed.search !== '' || parsed.hash !== '') return 'path changed by URL parsing'
  return null
}
