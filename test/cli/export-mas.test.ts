import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import YAML from 'yaml'
import { masPolicyYaml } from '../../src/cli/export-mas.js'
import { loadConfig } from '../../src/config/load.js'
import { cachedLists } from '../../src/cli/lists.js'
import { writeCopy } from '../../src/lists/cache.js'
import { canonicalEmail } from '../../src/synapse/canonical.js'
import { decide } from '../../src/policy/policy.js'
import { decideRequester } from '../../src/policy/requester.js'
import { decideUsername } from '../../src/policy/username.js'
import { runCommand } from '../helpers/cli-process.js'
import { CLI } from '../helpers/cli-path.js'
import { emailAllowed, matchesStringConstraints, usernameAllowed, type Data } from '../helpers/mas-policy.js'

// `regguard export mas-policy`: MAS's policy.data for the current policy. The output is parsed
// back and judged as MAS judges it (test/helpers/mas-policy.ts, from MAS's rego), and must
// decide as regguard does for every spelling of an address MAS would be given.

const CONFIG = {
  register: {
    policy: {
      allowed: false,
      invite: true,
      threepid: {
        email: {
          domain: { whitelist: ['*example.org', '.example.net', 'example.com', 'bücher.example'], blacklist: ['evil.example.org', '.bad.example.com'] },
          pattern: { whitelist: ['vip\\..*@partner\\.test'], blacklist: ['.*\\+spam@.*', '(?!ok).*@lookahead\\.example\\.org'] }
        },
        msisdn: { pattern: { blacklist: ['44\\d+'] } }
      },
      username: {
        allowed: { prefixes: ['team-'], literals: ['Alice'] },
        banned: { literals: ['team-root'], regexes: ['^[0-9]+$'], substrings: ['admin'] }
      },
      requester: { banned_ips: ['203.0.113.0/24', '2001:db8::/32'], banned_user_agents: { prefixes: ['curl/'], substrings: ['EvilBot'] } }
    }
  }
}

/** What a user might type for one address: case spellings of each part, a trailing dot. */
function spellings (address: string): string[] {
  const at = address.lastIndexOf('@')
  const local = address.slice(0, at)
  const domain = address.slice(at + 1)
  const alternate = (s: string): string => [...s].map((c, i) => i % 2 === 0 ? c.toUpperCase() : c.toLowerCase()).join('')
  return [...new Set([address, address.toUpperCase(), `${local}@${domain.toUpperCase()}`, `${local}@${alternate(domain)}`, `${alternate(local)}@${domain}`, `${local}@${domain}.`])]
}

function dataOf (text: string): Data {
  return (YAML.parse(text) as { policy: { data: Data } }).policy.data
}

t.test('the exported data decides every rule kind as regguard does, for every case spelling', async (t) => {
  const loaded = loadConfig({ object: CONFIG, env: {} })
  const d = dataOf(masPolicyYaml(loaded, 'regguard.yaml'))
  t.same(d.registration, {
    allowed_usernames: { literals: ['alice'], prefixes: ['team-'] },
    banned_usernames: { literals: ['team-root'], substrings: ['admin'], regexes: ['^[0-9]+$'] }
  })
  t.same(d.requester, { banned_ips: ['203.0.113.0/24', '2001:db8::/32'], banned_user_agents: { prefixes: ['curl/'], substrings: ['EvilBot'] } })
  const emails = d.emails as { banned_addresses: { regexes: string[] }, allowed_addresses: { regexes: string[] } }
  t.same(Object.keys(emails.banned_addresses), ['regexes'], 'no case-sensitive kind is used')
  t.ok(emails.banned_addresses.regexes.every((r) => r.startsWith('(?i)') && r.endsWith('$')), 'every regex is case-insensitive and anchored at the end')
  t.notOk(emails.banned_addresses.regexes.some((r) => r.includes('lookahead')), 'the JavaScript-only pattern is left out (MAS would refuse the document)')

  const addresses = ['a@example.org', 'a@sub.example.org', 'a@evil.example.org', 'a@x.evil.example.org', 'a@example.net', 'a@sub.example.net',
    'a@example.com', 'a@sub.example.com', 'a@bad.example.com', 'a@x.bad.example.com', 'a+spam@example.org', 'vip.bob@partner.test',
    'bob@partner.test', 'a@gmail.com', 'a@notexample.org', 'a@xn--bcher-kva.example', 'a@bücher.example', 'a@example.org.evil.test']
  let judged = 0
  for (const address of addresses) {
    for (const typed of spellings(address)) {
      const c = canonicalEmail(typed)
      if (!c.ok) continue
      judged++
      t.equal(emailAllowed(d, typed), decide(loaded.policy, 'email', c.address, null).allowed, typed)
    }
  }
  t.ok(judged > addresses.length * 4, `${judged} spellings judged`)
  for (const n of ['alice', 'team-bob', 'team-root', 'team-admin', 'bob', '1234', 'team-1234']) t.equal(usernameAllowed(d, n), decideUsername(loaded.policy.username!, n).allowed, n)
  for (const ua of ['curl/8.1', 'Mozilla EvilBot', 'Element/1.11', 'xcurl/']) {
    t.equal(matchesStringConstraints(ua, (d.requester as Data).banned_user_agents), !decideRequester(loaded.policy.requester!, null, [ua]).allowed, ua)
  }
})

t.test('blacklist files and live lists (their cached copy) are exported, every case spelling denied', async (t) => {
  const dir = t.testdir({ 'disposable.txt': '# a file\nmailinator.com\n*trashmail.example\n' })
  const url = 'https://lists.example/disposable_email_blocklist.conf?token=secret'
  const fetchedAt = Date.UTC(2026, 7, 21, 6, 0, 0)
  writeCopy(join(dir, 'lists'), { url, etag: null, last_modified: null, fetched_at: fetchedAt, entries: 3, checked_at: fetchedAt, last_error: null, last_error_at: null },
    Buffer.from('guerrillamail.com\n10minutemail.com\n.subs-only.example\n'))
  const loaded = loadConfig({
    object: { lists: { cache_dir: join(dir, 'lists') }, register: { policy: { allowed: true, invite: false, threepid: { email: { domain: { blacklist_files: ['disposable.txt'], blacklist_urls: [url] } } } } } },
    env: {},
    baseDir: dir
  })
  // regguard's side: the live slots bound to the same cached copies, as a started server has them
  const lists = cachedLists(loaded)
  t.teardown(async () => { await lists.close() })
  const text = masPolicyYaml(loaded, 'regguard.yaml')
  const d = dataOf(text)
  t.not(JSON.stringify(d), '{}')
  t.match(text, /register\.policy\.threepid\.email\.domain\.blacklist_urls https:\/\/lists\.example\/disposable_email_blocklist\.conf\?…: the cached copy fetched 2026-08-21T06:00:00\.000Z \(3 entries\)/)
  t.notMatch(text, /secret/, 'the list URL\'s query is not written out')
  for (const denied of ['x@mailinator.com', 'x@trashmail.example', 'x@a.trashmail.example', 'x@guerrillamail.com', 'x@10minutemail.com', 'x@a.subs-only.example']) {
    for (const typed of spellings(denied)) {
      t.notOk(emailAllowed(d, typed), typed)
      const c = canonicalEmail(typed)
      t.ok(c.ok && !decide(loaded.policy, 'email', c.address, null).allowed, `regguard denies ${typed} too`)
    }
  }
  for (const allowed of ['x@gmail.com', 'x@sub.mailinator.com', 'x@subs-only.example', 'x@notmailinator.com', 'mailinator.com@gmail.com']) {
    t.ok(emailAllowed(d, allowed), allowed)
  }
})

t.test('a live list without a cached copy is a NOT EXPORTED comment, never an empty document without a word', async (t) => {
  const dir = t.testdir({})
  const loaded = loadConfig({ object: { lists: { cache_dir: join(dir, 'lists') }, register: { policy: { allowed: true, invite: false, require_3pid: true, threepid: { email: { domain: { blacklist_urls: ['https://lists.example/x.conf'] } } } } } }, env: {} })
  const text = masPolicyYaml(loaded, 'regguard.yaml')
  t.same(dataOf(text), {})
  t.match(text, /NOT EXPORTED, MAS would let these through: register\.policy\.threepid\.email\.domain\.blacklist_urls https:\/\/lists\.example\/x\.conf has no cached copy/)
})

t.test('what MAS cannot express is a comment, naming the key', async (t) => {
  const loaded = loadConfig({ object: { register: { policy: { ...CONFIG.register.policy, threepid: { ...CONFIG.register.policy.threepid, email: { ...CONFIG.register.policy.threepid.email, mx: { require: true, blacklist: ['mx.bad.example'], whitelist: ['mx.good.example'] } } } } } }, env: {} })
  const text = masPolicyYaml(loaded, 'regguard.yaml')
  const doc = YAML.parseDocument(text)
  const header = doc.commentBefore ?? ''
  t.match(header, /NOT EXPORTED: register\.policy\.invite \(MAS has no 3PID invites/)
  t.match(header, /NOT EXPORTED: register\.policy\.threepid\.msisdn \(MAS registers no phone numbers/)
  t.match(header, /NOT EXPORTED: register\.policy\.require_3pid is false/)
  t.match(header, /NOT EXPORTED: register\.policy\.threepid\.email\.mx\.require/)
  t.match(header, /NOT EXPORTED, MAS would let these through: register\.policy\.threepid\.email\.mx\.blacklist/)
  t.match(header, /NOT EXPORTED, MAS would refuse these: register\.policy\.threepid\.email\.mx\.whitelist/)
  const emailsKey = (doc.getIn(['policy', 'data'], true) as YAML.YAMLMap).items.find((i) => (i.key as YAML.Scalar).value === 'emails')?.key as YAML.Scalar
  const emailNotes = emailsKey.commentBefore ?? ''
  t.match(emailNotes, /NOT EXPORTED, MAS would let these through: register\.policy\.threepid\.email\.pattern\.blacklist "\(\?!ok\)\.\*@lookahead\\\\\.example\\\\\.org" uses JavaScript-only syntax/)
  t.match(emailNotes, /case-insensitive regexes/)
})

t.test('allowed: true leaves allowed_addresses out (the whitelist decides nothing) and says so', async (t) => {
  const loaded = loadConfig({ object: { register: { policy: { allowed: true, invite: false, require_3pid: true, threepid: { email: { domain: { whitelist: ['example.org'], blacklist: ['evil.example'] } } } } } }, env: {} })
  const doc = YAML.parseDocument(masPolicyYaml(loaded, 'x.yaml'))
  const data = (doc.toJS() as { policy: { data: Data } }).policy.data
  t.same(data, { emails: { banned_addresses: { regexes: ['(?i)@(?:evil\\.example)\\.?$'] } } })
  t.notMatch(doc.commentBefore ?? '', /invite/, 'no invite note when invites are off')
  t.match(doc.toString(), /the email whitelist is not exported: with register\.policy\.allowed true it decides nothing/)
})

t.test('allowed: false with no whitelist: an empty allowed_addresses (MAS: nobody), with a note', async (t) => {
  const loaded = loadConfig({ object: { register: { policy: { allowed: false } } }, env: {} })
  const text = masPolicyYaml(loaded, 'x.yaml')
  const d = dataOf(text)
  t.same(d, { emails: { allowed_addresses: {} } })
  t.notOk(emailAllowed(d, 'a@example.org'))
  t.match(text, /allowed_addresses is set but empty, which MAS reads as "no address may register"/)
})

t.test('the CLI prints it for a config file', async (t) => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`)
  const dir = t.testdir({ 'regguard.yaml': YAML.stringify({ storage: { url: 'sqlite://./r.sqlite' }, ...CONFIG }) })
  const r = await runCommand(['export', 'mas-policy', '--config', 'regguard.yaml'], { cwd: dir })
  t.equal(r.code, 0, r.stderr)
  const data = dataOf(r.stdout)
  t.same((data.requester as Data).banned_ips, ['203.0.113.0/24', '2001:db8::/32'])
  t.match(r.stdout, /^# MAS policy data equivalent to the register policy of .*regguard\.yaml/)
  const bad = await runCommand(['export', 'nothing', '--config', 'regguard.yaml'], { cwd: dir })
  t.equal(bad.code, 2)
  t.match(bad.stderr, /export needs: mas-policy/)
})
