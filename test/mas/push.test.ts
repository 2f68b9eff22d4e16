import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig, type LoadedConfig } from '../../src/config/load.js'
import { writeCopy } from '../../src/lists/cache.js'
import { masPushCommand } from '../../src/mas/push-command.js'
import { CommandError } from '../../src/cli/errors.js'
import { emailAllowed } from '../helpers/mas-policy.js'
import { masStandin, type MasStandin } from '../helpers/mas-standin.js'

// `regguard mas push` (its command, in-process) against the stand-in MAS: the token by
// client_credentials with the admin scope, the document MAS then evaluates, 400 with MAS's
// message, the record of the last push.

const LIST_URL = 'https://lists.example/disposable_email_blocklist.conf'
const DENIED = ['x@mailinator.com', 'x@guerrillamail.com', 'x@sub.trash.example', 'x@evil.example']

function spellings (a: string): string[] {
  const [local, domain] = a.split('@') as [string, string]
  const alt = [...domain].map((c, i) => i % 2 === 0 ? c.toUpperCase() : c).join('')
  return [a, a.toUpperCase(), `${local}@${domain.toUpperCase()}`, `${local}@${alt}`, `${local}@${domain}.`]
}

/** The CommandError the command ends with */
async function failure (p: Promise<number>): Promise<CommandError> {
  try {
    await p
  } catch (err) {
    if (err instanceof CommandError) return err
    throw err
  }
  throw new Error('the command did not fail')
}

async function setup (t: Tap.Test, extra: Record<string, unknown> = {}): Promise<{ mas: MasStandin, config: LoadedConfig, dir: string, out: string[], err: string[] }> {
  const mas = await masStandin({ clientId: 'regguard', clientSecret: 's3cret' })
  t.teardown(() => mas.close())
  const dir = t.testdir({})
  const at = Date.UTC(2026, 7, 21)
  writeCopy(join(dir, 'lists'), { url: LIST_URL, etag: null, last_modified: null, fetched_at: at, entries: 2, checked_at: at, last_error: null, last_error_at: null }, Buffer.from('mailinator.com\nguerrillamail.com\n'))
  const config = loadConfig({
    object: {
      lists: { cache_dir: join(dir, 'lists') },
      register: { policy: { allowed: true, invite: false, require_3pid: true, threepid: { email: { domain: { blacklist: ['*trash.example', 'evil.example'], blacklist_urls: [LIST_URL] } } } } },
      mas: { url: mas.url, client_id: 'regguard', client_secret: 's3cret', state_file: join(dir, 'mas-state.json') },
      ...extra
    },
    env: {}
  })
  return { mas, config, dir, out: [], err: [] }
}

t.test('mas push: the document MAS evaluates denies every case spelling of every blacklisted domain, live lists included', async (t) => {
  const { mas, config, dir, out, err } = await setup(t)
  const code = await masPushCommand(config, { out: (s) => out.push(s), err: (s) => err.push(s) })
  t.equal(code, 0, err.join(''))
  t.equal(mas.pushes.length, 1)
  t.same(mas.tokenRequests, [{ status: 200, scope: 'urn:mas:admin' }])
  const data = mas.merged()
  for (const denied of DENIED) for (const typed of spellings(denied)) t.notOk(emailAllowed(data, typed), typed)
  for (const allowed of ['x@gmail.com', 'x@sub.mailinator.com', 'x@example.org']) t.ok(emailAllowed(data, allowed), allowed)
  t.match(out.join(''), /list https:\/\/lists\.example\/disposable_email_blocklist\.conf: cached copy fetched 2026-08-21T00:00:00\.000Z, 2 entries/)
  t.match(out.join(''), new RegExp(`pushed to ${mas.url.replace(/[.]/g, '\\.')}: policy data ${mas.pushes[0]!.id}`))
  const state = JSON.parse(readFileSync(join(dir, 'mas-state.json'), 'utf8')) as { url: string, hash: string, id: string }
  t.equal(state.url, mas.url)
  t.equal(state.id, mas.pushes[0]!.id)
  t.match(state.hash, /^[0-9a-f]{64}$/)
})

t.test('merged into MAS\'s static data: its own rules stay, arrays appended', async (t) => {
  const mas = await masStandin({ clientId: 'regguard', clientSecret: 's3cret', staticData: { emails: { banned_addresses: { regexes: ['(?i)@static\\.example$'] } }, banned_domains: ['glob.example'] } })
  t.teardown(() => mas.close())
  const dir = t.testdir({})
  const config = loadConfig({ object: { register: { policy: { allowed: true, invite: false, require_3pid: true, threepid: { email: { domain: { blacklist: ['evil.example'] } } } } }, mas: { url: mas.url, client_id: 'regguard', client_secret: 's3cret', state_file: join(dir, 's.json') } }, env: {} })
  t.equal(await masPushCommand(config, { out: () => {}, err: () => {} }), 0)
  const data = mas.merged()
  t.notOk(emailAllowed(data, 'a@EVIL.example'))
  t.notOk(emailAllowed(data, 'a@static.example'))
  t.notOk(emailAllowed(data, 'a@glob.example'))
})

t.test('a 400 from MAS ends the command with MAS\'s message; MAS keeps what it had; nothing is recorded', async (t) => {
  const { mas, config, dir } = await setup(t)
  mas.set({ refuse: () => 'policy data too large for this test' })
  const e = await failure(masPushCommand(config, { out: () => {}, err: () => {} }))
  t.equal(e.exitCode, 3)
  t.match(e.message, /MAS refused the policy data \(400; it keeps the data it had\): Failed to instanciate policy with the provided data: policy data too large for this test/)
  t.equal(mas.pushes.length, 0)
  t.throws(() => readFileSync(join(dir, 'mas-state.json')), { code: 'ENOENT' })
})

t.test('the client\'s credentials: a wrong secret is refused at the token endpoint; client_secret_file is read', async (t) => {
  const { mas, config, dir } = await setup(t)
  const wrong = loadConfig({ object: { mas: { ...config.settings.mas, client_secret: 'nope' }, lists: config.settings.lists }, env: {} })
  const e = await failure(masPushCommand(wrong, { out: () => {}, err: () => {} }))
  t.equal(e.exitCode, 2)
  t.match(e.message, /token request to .* refused: invalid_client/)
  t.equal(mas.pushes.length, 0)
  writeFileSync(join(dir, 'secret'), 's3cret\n')
  const fromFile = loadConfig({ object: { mas: { ...config.settings.mas, client_secret: '', client_secret_file: join(dir, 'secret') }, lists: config.settings.lists }, env: {} })
  t.equal(await masPushCommand(fromFile, { out: () => {}, err: () => {} }), 0)
  t.equal(mas.pushes.length, 1)
  const unset = loadConfig({ object: { mas: { url: mas.url, client_id: 'regguard' } }, env: {} })
  await t.rejects(masPushCommand(unset, { out: () => {}, err: () => {} }), /mas\.client_secret \(or mas\.client_secret_file\) is not set/)
})

t.test('a client without the admin scope gets no token, and nothing is pushed', async (t) => {
  const mas = await masStandin({ clientId: 'regguard', clientSecret: 's3cret', clientScopes: ['openid'] })
  t.teardown(() => mas.close())
  const dir = t.testdir({})
  const config = loadConfig({ object: { mas: { url: mas.url, client_id: 'regguard', client_secret: 's3cret', state_file: join(dir, 's.json') } }, env: {} })
  await t.rejects(masPushCommand(config, { out: () => {}, err: () => {} }), /refused: invalid_scope/)
  t.same(mas.tokenRequests, [{ status: 400, scope: 'urn:mas:admin' }])
  t.equal(mas.pushes.length, 0)
})

t.test('a token MAS no longer takes is renewed once', async (t) => {
  const { mas, config } = await setup(t)
  const { masClient } = await import('../../src/mas/push.js')
  const client = masClient(config.settings.mas)
  await client.pushPolicyData('{"data":{}}')
  mas.revokeTokens()
  await client.pushPolicyData('{"data":{}}')
  t.equal(mas.pushes.length, 2)
  t.equal(mas.tokenRequests.length, 2)
})

t.test('data MAS cannot merge into its static data is refused with its message (the stand-in\'s own check, as merge_data)', async (t) => {
  const mas = await masStandin({ clientId: 'regguard', clientSecret: 's3cret', staticData: { emails: 'not an object' } })
  t.teardown(() => mas.close())
  const dir = t.testdir({})
  const config = loadConfig({ object: { register: { policy: { allowed: true, invite: false, require_3pid: true, threepid: { email: { domain: { blacklist: ['evil.example'] } } } } }, mas: { url: mas.url, client_id: 'regguard', client_secret: 's3cret', state_file: join(dir, 's.json') } }, env: {} })
  const e = await failure(masPushCommand(config, { out: () => {}, err: () => {} }))
  t.match(e.message, /Failed to instanciate policy with the provided data: Cannot merge a object into a string/)
  t.equal(mas.pushes.length, 0)
})
