import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { startListServer } from '../helpers/list-server.js'
import { configFile, POLICY } from './cli-fixtures.js'
import { postRaw, runCommand, serve } from './run.js'

// The installed command's invites and lists commands, run to their end as processes: what they
// write to the store a running regguard shares, and what they fetch into lists.cache_dir.

t.setTimeout(150_000)

t.test('invites add, list and revoke on the store a running regguard shares', async (t) => {
  const { dir, file } = configFile(t, POLICY)
  const added = await runCommand(t, ['invites', 'add', '--config', file, 'email', ' Ann@Partner.TEST'])
  t.equal(added.code, 0, added.stderr)
  const id = /^added invite (\S+): email ann@partner\.test, expires \S+Z$/m.exec(added.stdout)?.[1]
  t.ok(id, `the new invite's id: ${added.stdout}`)
  const phone = await runCommand(t, ['invites', 'add', '--config', file, 'msisdn', '+33 6 12 34 56 78'])
  t.equal(phone.code, 0, phone.stderr)
  t.match(phone.stdout, /msisdn 33612345678/)

  const list = await runCommand(t, ['invites', 'list', '--config', file])
  t.equal(list.code, 0, list.stderr)
  const rows = list.stdout.trim().split('\n')
  t.equal(rows[0], 'id\tmedium\taddress\tstate\texpires\tsource\troom\tinviter', 'a header')
  t.same(rows.slice(1).map((r) => r.split('\t').slice(0, 4)), [[id, 'email', 'ann@partner.test', 'pending'], [rows[2]?.split('\t')[0], 'msisdn', '33612345678', 'pending']])
  const filtered = await runCommand(t, ['invites', 'list', '--config', file, '--medium', 'msisdn'])
  t.equal(filtered.stdout.trim().split('\n').length, 2, '--medium filters')

  // the running command sees what the CLI wrote, from its next request
  const hs = await startHomeserver(t)
  const rg = await serve(t, hs.url, { ...POLICY, storage: { url: `sqlite://${join(dir, 'store', 'regguard.sqlite')}` } })
  const ask = async (email: string): Promise<number> => (await postRaw(rg.port, '/_matrix/client/v3/register/email/requestToken', JSON.stringify({ client_secret: 'cs', email, send_attempt: 1 }))).status
  t.equal(await ask('ann@partner.test'), 200, 'invited by the CLI: allowed by the server')
  const revoked = await runCommand(t, ['invites', 'revoke', '--config', file, id as string])
  t.equal(revoked.code, 0, revoked.stderr)
  t.equal(revoked.stdout, `revoked invite ${id as string}\n`)
  t.equal(await ask('ann@partner.test'), 403, 'revoked by the CLI: denied by the server')
  const unknown = await runCommand(t, ['invites', 'revoke', '--config', file, '999999'])
  t.equal(unknown.code, 3, 'revoking an unknown id fails')
  t.match(unknown.stderr, /^regguard: no invite "999999"/)
  const after = await runCommand(t, ['invites', 'list', '--config', file, '--medium', 'email'])
  t.match(after.stdout.trim().split('\n')[1] ?? '', new RegExp(`^${id as string}\\temail\\tann@partner\\.test\\trevoked`), 'listed as revoked')
})

t.test('invites import (all or nothing) and invites revoke --inviter', async (t) => {
  const { dir, file } = configFile(t, POLICY)
  const csv = join(dir, 'invites.csv')
  writeFileSync(csv, 'medium,address\nemail,one@partner.test\nmsisdn,+44 7700 900111\n')
  const imported = await runCommand(t, ['invites', 'import', '--config', file, csv])
  t.equal(imported.code, 0, imported.stderr)
  t.equal(imported.stdout, `imported 2 invites from ${csv}\n`, 'a spreadsheet\'s header row skipped')
  const bad = join(dir, 'bad.csv')
  writeFileSync(bad, 'email,two@partner.test\nemail,not an address\n')
  const refused = await runCommand(t, ['invites', 'import', '--config', file, bad])
  t.not(refused.code, 0, 'a file with a bad line is refused')
  t.match(refused.stderr, /^regguard: /)
  const list = await runCommand(t, ['invites', 'list', '--config', file])
  t.same(list.stdout.trim().split('\n').slice(1).map((r) => r.split('\t')[2]), ['one@partner.test', '447700900111'], 'nothing of the refused file was added')
  t.equal((await runCommand(t, ['policy', 'check', '--config', file, 'email', 'one@partner.test'])).code, 0, 'an imported invite allows')

  const added = await runCommand(t, ['invites', 'add', '--config', file, 'email', 'three@partner.test'])
  t.equal(added.code, 0)
  const byInviter = await runCommand(t, ['invites', 'revoke', '--config', file, '--inviter', '@nobody:example.org'])
  t.equal(byInviter.code, 0, byInviter.stderr)
  t.equal(byInviter.stdout, 'revoked 0 invites of @nobody:example.org\n')
})

t.test('lists refresh and lists status: the live lists fetched into lists.cache_dir', async (t) => {
  const lists = await startListServer(t)
  lists.serve('/bl.txt', { body: 'mailinator.example\ntrash.example\n', etag: '"v1"' })
  lists.serve('/down.txt', { status: 500, body: 'down' })
  const { file } = configFile(t, { register: { policy: { threepid: { email: { domain: { blacklist_urls: [lists.url('/bl.txt')] } } } } } })
  const before = await runCommand(t, ['lists', 'status', '--config', file])
  t.equal(before.code, 0)
  t.match(before.stdout, `blacklist ${lists.url('/bl.txt')}: no cached copy`)
  const refresh = await runCommand(t, ['lists', 'refresh', '--config', file])
  t.equal(refresh.code, 0, refresh.stderr)
  t.equal(refresh.stdout, `ok ${lists.url('/bl.txt')}: 2 entries\n`)
  t.equal(lists.requestsFor('/bl.txt').length, 1, 'fetched from the list server')
  const status = await runCommand(t, ['lists', 'status', '--config', file])
  t.match(status.stdout, new RegExp(`^blacklist ${lists.url('/bl.txt').replace(/[.?]/g, '\\$&')}: 2 entries, fetched `), 'the cached copy')
  t.equal((await runCommand(t, ['policy', 'check', '--config', file, 'email', 'a@mailinator.example'])).code, 1, 'policy check reads the cached list')

  const { file: failing } = configFile(t, { register: { policy: { threepid: { email: { domain: { blacklist_urls: [lists.url('/down.txt')] } } } } } })
  const failed = await runCommand(t, ['lists', 'refresh', '--config', failing])
  t.equal(failed.code, 3, 'a list that cannot be fetched: exit 3')
  t.match(failed.stdout, /^error /)
  const none = await runCommand(t, ['lists', 'status', '--config', configFile(t, {}).file])
  t.equal(none.stdout, 'no live lists configured (register.policy.threepid.email.domain.*_urls)\n')
})
