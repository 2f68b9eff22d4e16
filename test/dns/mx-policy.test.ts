import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { decide, evaluate } from '../../src/policy/policy.js'
import { parseServer } from '../../src/dns/servers.js'

// The decision order with mail-server rules, as pure functions of the facts.

const policy = (email: Record<string, unknown>, allowed = false) => loadConfig({ object: { register: { policy: { allowed, threepid: { email } } } }, env: {} }).policy

t.test('a lookup is asked for only when a mail-server rule is reached', async (t) => {
  const p = policy({ domain: { blacklist: ['bad.example'], whitelist: ['good.example'] }, mx: { require: true } })
  t.same(evaluate(p, 'email', 'a@bad.example', null, undefined), { decision: { allowed: false, rule: 'blacklist', detail: 'domain bad.example' } })
  t.same(evaluate(p, 'email', 'a@good.example', null, undefined), { needsMx: 'good.example' }, 'require is a blacklist kind: before every whitelist')
  t.same(evaluate(p, 'email', 'a@good.example', { id: 'i1' }, undefined), { needsMx: 'good.example' }, 'the mail-server blacklist kinds come before an invite (issue 22)')
  t.equal(decide(p, 'email', 'a@good.example', { id: 'i1' }, { kind: 'no-mail', why: 'null MX (RFC 7505)' }).rule, 'mx_require', 'and deny an invited address')
  t.same(evaluate(p, 'email', 'a@good.example', { id: 'i1' }, { kind: 'hosts', hosts: ['mx.good.example'], implicit: false }), { decision: { allowed: true, rule: 'invite', detail: 'i1' } })
  t.equal(decide(p, 'email', 'a@good.example', null, { kind: 'no-mail', why: 'null MX (RFC 7505)' }).rule, 'mx_require')
  t.equal(decide(p, 'email', 'a@good.example', null, { kind: 'hosts', hosts: ['mx.good.example'], implicit: false }).rule, 'whitelist')
  t.throws(() => decide(p, 'email', 'a@good.example'), /need a DNS lookup/, 'never a silent allow')
  t.equal(decide(p, 'msisdn', '447700900123').rule, 'default', 'phone numbers have no mail servers')

  const w = policy({ domain: { whitelist: ['good.example'] }, mx: { whitelist: ['*corp.example'] } })
  t.same(evaluate(w, 'email', 'a@good.example', null, undefined), { decision: { allowed: true, rule: 'whitelist', detail: 'domain good.example' } }, 'an earlier whitelist decides without DNS')
  t.same(evaluate(w, 'email', 'a@other.example', null, undefined), { needsMx: 'other.example' })
  t.equal(decide(w, 'email', 'a@other.example', null, { kind: 'failed', why: 'timeout' }).temporary, true)
  t.equal(decide(w, 'email', 'a@other.example', null, { kind: 'skipped', why: 'off' }).rule, 'default')
})

t.test('dns.servers entries', async (t) => {
  t.same(parseServer('127.0.0.1'), { host: '127.0.0.1', port: 53 })
  t.same(parseServer('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 })
  t.same(parseServer('[::1]:5353'), { host: '::1', port: 5353 })
  t.same(parseServer('::1'), { host: '::1', port: 53 })
  t.equal(parseServer('dns.example'), null)
  t.equal(parseServer('127.0.0.1:0'), null)
  t.throws(() => loadConfig({ object: { dns: { servers: ['resolver.example'] } }, env: {} }), /dns\.servers/)
  t.throws(() => loadConfig({ object: { register: { policy: { threepid: { email: { mx: { on_error: 'maybe' } } } } } }, env: {} }), /on_error/)
  t.throws(() => loadConfig({ object: { register: { policy: { threepid: { email: { domain: { blacklist_urls: ['ftp://x.example/l'] } } } } } }, env: {} }), /blacklist_urls/)
  t.throws(() => loadConfig({ object: { register: { policy: { threepid: { email: { mx: { blacklist: ['not a host'] } } } } } }, env: {} }), /mx\.blacklist\[0\]/)
})
