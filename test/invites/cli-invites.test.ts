import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runCommand } from '../helpers/cli-process.js'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { tempDir } from '../store/backends.js'

// The CLI twins of the admin API (run in-process, as the regguard command runs them), on the store
// named in the config file, shared with a running regguard.

t.setTimeout(180_000)


interface Run { code: number, stdout: string, stderr: string }
// in-process, as the regguard command runs it
function cli (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return runCommand(args)
}

// ma1sd's order (an invite beats the blacklist), so one list shows both rules at work
const policy = { allowed: false, invite_overrides_blacklist: true, threepid: { email: { domain: { blacklist: ['evil.example.org'] } } } }

function setup (t: { teardown: (fn: () => unknown) => void }): { dir: string, file: string, url: string } {
  const dir = tempDir(t)
  const url = `sqlite://${join(dir, 'store', 'regguard.sqlite')}`
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, JSON.stringify({ storage: { url }, register: { policy } }))
  return { dir, file, url }
}

t.test('add, policy check, list, revoke', async (t) => {
  const { file } = setup(t)
  const added = await cli('invites', 'add', '--config', file, 'email', ' Alice@EVIL.example.org')
  t.equal(added.code, 0, added.stderr)
  const id = /^added invite (\d+): email alice@evil\.example\.org, expires \S+Z$/m.exec(added.stdout)?.[1]
  t.ok(id, added.stdout)

  const check = await cli('policy', 'check', '--config', file, 'email', 'alice@evil.example.org')
  t.equal(check.code, 0)
  t.equal(check.stdout, `allow email alice@evil.example.org: allowed by invite ${id as string}\n`)

  const phone = await cli('invites', 'add', '--config', file, 'msisdn', '+44 7700 900123')
  t.equal(phone.code, 0)
  t.match(phone.stdout, /msisdn 447700900123/)

  const list = await cli('invites', 'list', '--config', file)
  t.equal(list.code, 0)
  const rows = list.stdout.trim().split('\n')
  t.equal(rows[0], 'id\tmedium\taddress\tstate\texpires\tsource\troom\tinviter')
  t.equal(rows.length, 3)
  t.match(rows[1], new RegExp(`^${id as string}\\temail\\talice@evil\\.example\\.org\\tpending\\t\\S+\\tadmin\\t-\\t-$`))
  const filtered = await cli('invites', 'list', '--config', file, '--medium', 'msisdn', '--address', '447700900123')
  t.equal(filtered.stdout.trim().split('\n').length, 2)
  const paged = await cli('invites', 'list', '--config', file, '--limit', '1')
  t.equal(paged.stdout.trim().split('\n').length, 2)
  const more = /^more: --from (\S+)$/m.exec(paged.stderr)?.[1]
  t.ok(more, 'the next page is offered')
  const page2 = await cli('invites', 'list', '--config', file, '--limit', '1', '--from', more as string)
  t.match(page2.stdout, /447700900123/)

  const revoked = await cli('invites', 'revoke', '--config', file, id as string)
  t.equal(revoked.code, 0)
  t.equal(revoked.stdout, `revoked invite ${id as string}\n`)
  const after = await cli('policy', 'check', '--config', file, 'email', 'alice@evil.example.org')
  t.equal(after.code, 1)
  t.equal(after.stdout, 'deny email alice@evil.example.org: denied by blacklist domain evil.example.org\n')
  t.match((await cli('invites', 'list', '--config', file)).stdout, /\trevoked\t/)

  const unknown = await cli('invites', 'revoke', '--config', file, '9999')
  t.equal(unknown.code, 3)
  t.match(unknown.stderr, /no invite "9999"/)
  const bad = await cli('invites', 'add', '--config', file, 'email', 'not-an-address')
  t.equal(bad.code, 3)
  t.match(bad.stderr, /not a valid email address/)
  const usage = await cli('invites', 'add', '--config', file, 'fax', 'x')
  t.equal(usage.code, 2)
  const stray = await cli('policy', 'check', '--config', file, '--limit', '3', 'email', 'a@example.org')
  t.equal(stray.code, 2, '--limit belongs to invites list')
})

t.test('import is all or nothing and names the bad line', async (t) => {
  const { dir, file } = setup(t)
  const good = join(dir, 'good.csv')
  writeFileSync(good, '# invited for the launch\nemail,one@evil.example.org\n\n  msisdn , +44 7700 900124 \nemail,Two@Example.com\r\n')
  const ok = await cli('invites', 'import', '--config', file, good)
  t.equal(ok.code, 0, ok.stderr)
  t.equal(ok.stdout, `imported 3 invites from ${good}\n`)
  const listed = (await cli('invites', 'list', '--config', file)).stdout
  t.match(listed, /one@evil\.example\.org\tpending\t\S+\timport/)
  t.match(listed, /447700900124/)
  t.match(listed, /two@example\.com/)

  const bad = join(dir, 'bad.csv')
  writeFileSync(bad, 'email,three@example.com\n# fine so far\nmsisdn,447700900125\nemail,broken-address\nemail,four@example.com\n')
  const refused = await cli('invites', 'import', '--config', file, bad)
  t.equal(refused.code, 3)
  t.match(refused.stderr, `${bad}:4: not a valid email address: "broken-address"; nothing imported`)
  const unchanged = (await cli('invites', 'list', '--config', file)).stdout
  t.notMatch(unchanged, /three@example\.com|447700900125|four@example\.com/)
  for (const [text, line, what] of [['email\n', 1, /expected "medium,address"/], ['\n\nfax,a@example.org\n', 3, /medium must be email or msisdn/]] as const) {
    const f = join(dir, `bad${line}.csv`)
    writeFileSync(f, text)
    const r = await cli('invites', 'import', '--config', file, f)
    t.equal(r.code, 3)
    t.match(r.stderr, `${f}:${line}: `)
    t.match(r.stderr, what)
  }
  const missing = await cli('invites', 'import', '--config', file, join(dir, 'nope.csv'))
  t.equal(missing.code, 3)
  t.match(missing.stderr, /ENOENT/)
})

t.test('an invite added by the CLI is used by a running regguard on the same store', async (t) => {
  const { file, url } = setup(t)
  const hs = await startHomeserver(t)
  const rg = await startRegguard(t, hs.url, { storage: { url }, register: { policy } })
  const send = () => rawPost(rg.port, '/_matrix/client/v3/register/email/requestToken', JSON.stringify({ client_secret: 'cs', email: 'cli@evil.example.org', send_attempt: 1 }))
  t.equal((await send()).status, 403)
  t.equal((await cli('invites', 'add', '--config', file, 'email', 'cli@evil.example.org')).code, 0)
  t.equal((await send()).status, 200)
})

t.test('a store that cannot be opened: a clear message naming storage.url, exit 2', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'regguard.yaml')
  writeFileSync(join(dir, 'not-a-dir'), '')
  writeFileSync(file, JSON.stringify({ storage: { url: `sqlite://${join(dir, 'not-a-dir', 'x.sqlite')}` } }))
  const r = await cli('invites', 'list', '--config', file)
  t.equal(r.code, 2)
  t.match(r.stderr, `regguard: cannot open the store at storage.url sqlite://${join(dir, 'not-a-dir', 'x.sqlite')}: `)
})
