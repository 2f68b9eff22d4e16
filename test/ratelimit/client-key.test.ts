import { spawnSync } from 'node:child_process'
import fc from 'fast-check'
import t from 'tap'
import { clientKey, formatIPv6, parseIPv6 } from '../../src/ratelimit/client-key.js'

// The key rate limits and the per-client concurrency cap count a client under. Python's
// ipaddress module is the oracle for parsing, masking and RFC 5952 text: every input goes to
// /usr/bin/python3 in one batch, JSON in and JSON out.

const ORACLE = `
import ipaddress, json, sys
out = []
for addr, prefix in json.load(sys.stdin):
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        out.append(None)
        continue
    if ip.version == 4:
        out.append(str(ip))
    elif ip.ipv4_mapped is not None:
        out.append(str(ip.ipv4_mapped))
    else:
        out.append(str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False)))
json.dump(out, sys.stdout)
`

function python (pairs: Array<[string, number]>): Array<string | null> {
  const r = spawnSync('/usr/bin/python3', ['-c', ORACLE], { input: JSON.stringify(pairs), maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' })
  if (r.error) throw r.error
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as Array<string | null>
}

t.test('examples', async (t) => {
  t.equal(clientKey('203.0.113.7', 64), '203.0.113.7', 'IPv4 as it is')
  t.equal(clientKey('::ffff:203.0.113.7', 64), '203.0.113.7', 'IPv4-mapped counts as its IPv4 address')
  t.equal(clientKey('::FFFF:cb00:7107', 64), '203.0.113.7', 'in hex too')
  t.equal(clientKey('0:0:0:0:0:ffff:203.0.113.7', 128), '203.0.113.7', 'whatever the prefix')
  t.equal(clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd', 64), '2001:db8:1:2::/64')
  t.equal(clientKey('2001:DB8:1:2::1', 64), '2001:db8:1:2::/64', 'upper case is one client with lower case')
  t.equal(clientKey('2001:db8:1:2:ffff::', 56), '2001:db8:1::/56')
  t.equal(clientKey('2001:db8:1:2:3:4:5:6', 128), '2001:db8:1:2:3:4:5:6/128')
  t.equal(clientKey('2001:db8::1', 0), '::/0')
  t.equal(clientKey('fe80::1%eth0', 64), 'fe80::/64', 'zone id ignored')
  t.equal(clientKey('not-an-address', 64), 'not-an-address', 'anything else unchanged')
  t.equal(clientKey('1::2::3', 64), '1::2::3')
  t.equal(formatIPv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]), '2001:db8::1:0:0:1', 'the first of two equal runs')
  t.equal(formatIPv6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]), '2001:db8:0:1:1:1:1:1', 'a single zero group stays')
  const again = ['2001:db8:1:2::1', '2001:db8:1:2::1', '2001:db8:1:2::1'].map((a, i) => clientKey(a, [64, 48, 64][i] as number))
  t.same(again, ['2001:db8:1:2::/64', '2001:db8:1::/48', '2001:db8:1:2::/64'], 'a remembered key never outlives a change of prefix')
  t.same(parseIPv6('::'), [0, 0, 0, 0, 0, 0, 0, 0])
  t.equal(parseIPv6('1:2:3:4:5:6:7:8::'), null, '"::" must stand for a group')
})

t.test('agrees with Python ipaddress on generated addresses and prefixes', async (t) => {
  const hextet = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }))
  const groups = fc.array(hextet, { minLength: 8, maxLength: 8 })
  const octet = fc.integer({ min: 0, max: 255 })
  const spell = (gs: number[], style: number): string => {
    const hex = gs.map((g) => style % 3 === 0 ? g.toString(16).toUpperCase() : style % 3 === 1 ? g.toString(16).padStart(4, '0') : g.toString(16))
    return style >= 3 ? formatIPv6(gs) : hex.join(':')
  }
  const address = fc.oneof(
    fc.tuple(groups, fc.integer({ min: 0, max: 5 })).map(([gs, style]) => spell(gs, style)),
    // runs of zeros so that "::" lands at the start, middle and end
    fc.tuple(groups, fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 8 })).map(([gs, at, len]) => formatIPv6(gs.map((g, i) => i >= at && i < at + len ? 0 : g))),
    fc.tuple(octet, octet, octet, octet).map((o) => `::ffff:${o.join('.')}`),
    fc.tuple(groups, octet, octet, octet, octet).map(([gs, ...o]) => `${gs.slice(0, 6).map((g) => g.toString(16)).join(':')}:${o.join('.')}`),
    fc.tuple(octet, octet, octet, octet).map((o) => o.join('.')),
    // near misses: the oracle refuses them, so regguard must keep them unchanged
    fc.constantFrom('1::2::3', ':1::', '1:2:3:4:5:6:7', '12345::', '::ffff:1.2.3', '::ffff:01.2.3.4', '1.2.3.4::', '::g', '1:2:3:4:5:6:7:8:9', '::ffff:256.1.1.1', ':::')
  )
  const pairs = fc.sample(fc.tuple(address, fc.integer({ min: 0, max: 128 })), { numRuns: 4000, seed: 8005 })
  const expected = python(pairs)
  const bad = pairs.filter(([a, p], i) => clientKey(a, p) !== (expected[i] ?? a))
  t.same(bad.slice(0, 10).map(([a, p]) => `${a}/${p}: regguard ${clientKey(a, p)}, Python ${String(expected[pairs.findIndex((x) => x[0] === a && x[1] === p)])}`), [], 'keys that differ from Python')
  t.ok(expected.filter((e) => e === null).length > 10, 'some near misses were in the sample')
  t.ok(expected.filter((e) => e?.includes('/') === true).length > 1000, 'most were IPv6 networks')
})
