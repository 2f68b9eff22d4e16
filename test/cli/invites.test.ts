import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runCommand } from '../helpers/cli-process.js'

// `regguard invites`: what an operator runs twice, imports from a spreadsheet, or revokes again.

function setup (t: Tap.Test): { dir: string, file: string } {
  const dir = t.testdir({})
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, JSON.stringify({ storage: { url: `sqlite://${join(dir, 'regguard.sqlite')}` } }))
  return { dir, file }
}

t.test('invites add twice: one invite, the second run says it is already invited', async (t) => {
  const { file } = setup(t)
  const first = await runCommand(['invites', 'add', '--config', file, 'email', 'alice@example.org'])
  t.equal(first.code, 0, first.stderr)
  const id = /^added invite (\d+): email alice@example\.org, expires \S+Z\n$/.exec(first.stdout)?.[1]
  t.ok(id, first.stdout)
  const second = await runCommand(['invites', 'add', '--config', file, 'email', ' Alice@EXAMPLE.org'])
  t.equal(second.code, 0)
  t.match(second.stdout, new RegExp(`^already invited: invite ${id as string}, email alice@example\\.org, pending until \\S+Z; nothing added\\n$`))
  const list = await runCommand(['invites', 'list', '--config', file])
  t.equal(list.stdout.trim().split('\n').length, 2, 'a header and one invite')
  // once revoked, the address can be invited again
  t.equal((await runCommand(['invites', 'revoke', '--config', file, id as string])).code, 0)
  const again = await runCommand(['invites', 'add', '--config', file, 'email', 'alice@example.org'])
  t.match(again.stdout, /^added invite (?!\d+\b.*already)/)
  t.not(/^added invite (\d+)/.exec(again.stdout)?.[1], id, 'a new invite')
})

t.test('revoking a revoked invite says so and exits 3; an unknown ID exits 3', async (t) => {
  const { file } = setup(t)
  const id = /^added invite (\d+)/.exec((await runCommand(['invites', 'add', '--config', file, 'msisdn', '+44 7700 900123'])).stdout)?.[1] as string
  const first = await runCommand(['invites', 'revoke', '--config', file, id])
  t.equal(first.code, 0)
  t.equal(first.stdout, `revoked invite ${id}\n`)
  const second = await runCommand(['invites', 'revoke', '--config', file, id])
  t.equal(second.code, 3)
  t.match(second.stderr, new RegExp(`^regguard: invite ${id} was already revoked at \\d{4}-\\d\\d-\\d\\dT\\S+Z; nothing changed\\n$`))
  t.equal(second.stdout, '')
  const unknown = await runCommand(['invites', 'revoke', '--config', file, '424242'])
  t.equal(unknown.code, 3)
  t.equal(unknown.stderr, 'regguard: no invite "424242"\n')
  const usage = await runCommand(['invites', 'revoke', '--config', file, id, 'extra'])
  t.equal(usage.code, 2)
})

t.test('CSV import: a `medium,address` header row is skipped, a second one is refused', async (t) => {
  const { dir, file } = setup(t)
  const csv = join(dir, 'invites.csv')
  writeFileSync(csv, '\uFEFFmedium,address\r\nemail,one@example.org\r\nmsisdn,+44 7700 900124\r\n')
  const ok = await runCommand(['invites', 'import', '--config', file, csv])
  t.equal(ok.code, 0, ok.stderr)
  t.equal(ok.stdout, `imported 2 invites from ${csv}\n`)
  const quoted = join(dir, 'quoted.csv')
  writeFileSync(quoted, '# exported\n"Medium","Address"\nemail,two@example.org\n')
  t.equal((await runCommand(['invites', 'import', '--config', file, quoted])).code, 0, 'a quoted, capitalised header')
  const twice = join(dir, 'twice.csv')
  writeFileSync(twice, 'email,three@example.org\nmedium,address\n')
  const refused = await runCommand(['invites', 'import', '--config', file, twice])
  t.equal(refused.code, 3, 'a header after the first line is a bad line')
  t.match(refused.stderr, `${twice}:2: medium must be email or msisdn, got "medium"; nothing imported`)
  const list = await runCommand(['invites', 'list', '--config', file])
  t.equal(list.stdout.trim().split('\n').length, 4, 'a header and three invites: nothing of twice.csv')
})
