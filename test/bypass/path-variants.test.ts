import t from 'tap'
import { rawPost } from '../helpers/raw-http.js'
import { assertNoDeniedArrived, bodyFor, ENDPOINTS, errcode, MEDIA, setup, synapseRoutesToken, tokenPath } from './helpers.js'

// Spellings of each policed path. Synapse routes on the raw path (not percent-decoded,
// case-sensitive, anchored, query ignored): what it would route, regguard must police; what it
// would not route may be forwarded, and then the homeserver gets exactly that unroutable target.

const hex = (c: string, lower = false): string => {
  const h = c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')
  return '%' + (lower ? h.toLowerCase() : h)
}

/** Mutations of a path at each of its slashes and segments. */
function variants (base: string): string[] {
  const segs = base.split('/').slice(1)
  const join = (parts: string[]): string => '/' + parts.join('/')
  const out = new Set<string>([base])
  // routed by Synapse: the query is not part of the path
  for (const q of ['?', '?a=b', '?a=b?c', '?%2F', '?email=x@example.org', '?/../x']) out.add(base + q)
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i] as string
    const at = (seg: string): string => join([...segs.slice(0, i), seg, ...segs.slice(i + 1)])
    out.add(at(hex(s[0] as string) + s.slice(1)))                       // %-encoded first letter
    out.add(at(s.slice(0, -1) + hex(s.at(-1) as string, true)))         // lower-case hex, last letter
    out.add(at(s[0]!.toUpperCase() === s[0] ? s[0]!.toLowerCase() + s.slice(1) : s[0]!.toUpperCase() + s.slice(1))) // case
    out.add(at(s.toUpperCase()))
    out.add(at('.' + '/' + s))                                          // "/./" before the segment
    out.add(at('x/../' + s))                                            // "x/.." before the segment
    out.add(at('x/%2e%2e/' + s))
    out.add(at('%2E/' + s))
    out.add(at('/' + s))                                                // double slash
    if (i > 0) out.add(join(segs.slice(0, i)) + '%2F' + segs.slice(i).join('/'))   // encoded slash
    if (i > 0) out.add(join(segs.slice(0, i)) + '%2f' + segs.slice(i).join('/'))
  }
  for (const tail of ['/', '//', '%2F', '/.', '/..', '%20', '%00', ';x', '#frag', '.', '%3F', '%3Fa=b', '/?a=b', '%23x']) out.add(base + tail)
  out.add('/' + base)                                                   // leading double slash
  out.add('http://matrix.example.org' + base)                           // absolute form
  out.add(base.replace('/v3/', '/V3/'))
  out.add(base.replace('/v3/', '/r1/'))
  out.add(base.replace('/v3/', '/api/v1/'))
  out.add(base.replace('/v3/', '/v1/'))
  out.add(base.replace('/v3/', '/unstable/org.matrix.msc0000/'))
  out.add(base.replace('/client/', '/client/v3/../'))
  return [...out]
}

for (const endpoint of ENDPOINTS) {
  for (const medium of MEDIA) {
    const base = tokenPath('v3', endpoint, medium)
    t.test(`spellings of ${base}`, async (t) => {
      const { hs, rg } = await setup(t)
      const list = variants(base)
      t.ok(list.length > 60, `${list.length} spellings`)
      let routed = 0
      for (const target of list) {
        hs.received.length = 0
        const res = await rawPost(rg.port, target, bodyFor(medium, true), { 'Content-Type': 'application/json' })
        if (synapseRoutesToken(target)) {
          routed++
          t.equal(res.status, 403, `${target}: Synapse would route it, so regguard denies it`)
          t.equal(errcode(res), 'M_THREEPID_DENIED', target)
          t.equal(hs.received.length, 0, `${target}: never forwarded`)
        } else {
          // regguard may refuse it outright (malformed target) or pass it on untouched
          for (const r of hs.received) {
            t.notOk(synapseRoutesToken(r.url), `${target}: arrived as ${r.url}, which Synapse would not route`)
            t.equal(r.url, target, `${target}: forwarded exactly as sent`)
          }
          t.ok(hs.received.length <= 1, target)
          t.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `${target}: answered (${res.status})`)
        }
        assertNoDeniedArrived(t, hs, target)
      }
      t.equal(routed, 7, 'the path itself and its query spellings are the only ones Synapse routes')

      // the control: an allowed address on a spelling Synapse routes arrives byte for byte
      hs.received.length = 0
      const body = bodyFor(medium, false)
      const res = await rawPost(rg.port, `${base}?a=b?c`, body, { 'Content-Type': 'application/json' })
      t.equal(res.status, 200)
      t.equal(hs.received[0]?.url, `${base}?a=b?c`)
      t.equal(hs.received[0]?.body.toString(), body)
    })
  }
}
