import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runCommand } from '../helpers/cli-process.js'
import { tempDir } from '../store/backends.js'
import { adminCall, listInvites } from './helpers.js'
import { createRoomBody, invitesWhen, learnSetup, requestToken, send } from './learn-helpers.js'

// Listing the invites one inviter taught, and revoking them all in one call: admin API and CLI.

t.setTimeout(180_000)
const P = '/_regguard/admin/v1/invites'

// in-process, as the regguard command runs it
function cli (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return runCommand(args)
}

t.test('admin API: list by inviter, revoke all of one inviter', async (t) => {
  const { hs, rg } = await learnSetup(t)
  await send(rg.port, 'POST', '/_matrix/client/v3/createRoom', createRoomBody('m1@example.net', 'm2@example.net'), hs.login('mallory'))
  await send(rg.port, 'POST', '/_matrix/client/v3/createRoom', createRoomBody('f1@example.net'), hs.login('friend'))
  await invitesWhen(rg, 3)
  await adminCall(rg.adminUrl, 'POST', P, { medium: 'email', address: 'manual@example.net' })

  const byMallory = await adminCall(rg.adminUrl, 'GET', `${P}?inviter=${encodeURIComponent('@mallory:example.org')}`)
  t.equal(byMallory.status, 200)
  t.same(byMallory.body.invites.map((i: { address: string, inviter: string }) => [i.address, i.inviter]), [['m1@example.net', '@mallory:example.org'], ['m2@example.net', '@mallory:example.org']])
  t.equal((await requestToken(rg.port, 'm1@example.net')).status, 200, 'allowed while invited')

  const revoked = await adminCall(rg.adminUrl, 'POST', `${P}/revoke`, { inviter: '@mallory:example.org' })
  t.equal(revoked.status, 200)
  t.same(revoked.body, { revoked: 2 })
  t.same((await adminCall(rg.adminUrl, 'POST', `${P}/revoke`, { inviter: '@mallory:example.org' })).body, { revoked: 0 }, 'again: nothing left')
  t.equal((await requestToken(rg.port, 'm2@example.net')).status, 403, 'denied once revoked')
  const after = await listInvites(rg.adminUrl)
  t.same(after.map((i) => [i.address, i.revoked_at === null]), [['m1@example.net', false], ['m2@example.net', false], ['f1@example.net', true], ['manual@example.net', true]], 'only that inviter\'s invites')

  for (const [body, errcode] of [[{}, 'M_MISSING_PARAM'], [{ inviter: 42 }, 'M_INVALID_PARAM'], [{ inviter: 'mallory' }, 'M_INVALID_PARAM'], ['nope', 'M_NOT_JSON']] as const) {
    const r = await adminCall(rg.adminUrl, 'POST', `${P}/revoke`, body)
    t.equal(r.status, 400, JSON.stringify(body))
    t.equal(r.body.errcode, errcode, JSON.stringify(body))
  }
  for (const q of ['?inviter=nobody', '?inviter=%40a%3Ax&inviter=%40b%3Ax']) {
    const r = await adminCall(rg.adminUrl, 'GET', P + q)
    t.equal(r.status, 400, q)
    t.equal(r.body.errcode, 'M_INVALID_PARAM', q)
  }
  t.equal((await adminCall(rg.adminUrl, 'POST', `${P}/revoke`, { inviter: '@mallory:example.org' }, 'wrong')).status, 401)
})

t.test('CLI: invites list --inviter, invites revoke --inviter', async (t) => {
  const { hs, rg } = await learnSetup(t)
  await send(rg.port, 'POST', '/_matrix/client/v3/createRoom', createRoomBody('m1@example.net', 'm2@example.net'), hs.login('mallory'))
  await send(rg.port, 'POST', '/_matrix/client/v3/createRoom', createRoomBody('f1@example.net'), hs.login('friend'))
  await invitesWhen(rg, 3)
  const file = join(tempDir(t), 'regguard.yaml')
  writeFileSync(file, JSON.stringify({ storage: { url: rg.config.settings.storage.url } }))

  const list = await cli('invites', 'list', '--config', file, '--inviter', '@mallory:example.org')
  t.equal(list.code, 0, list.stderr)
  const rows = list.stdout.trim().split('\n')
  t.equal(rows[0], 'id\tmedium\taddress\tstate\texpires\tsource\troom\tinviter')
  t.same(rows.slice(1).map((r) => [r.split('\t')[2], r.split('\t')[7]]), [['m1@example.net', '@mallory:example.org'], ['m2@example.net', '@mallory:example.org']])

  const revoke = await cli('invites', 'revoke', '--config', file, '--inviter', '@mallory:example.org')
  t.equal(revoke.code, 0, revoke.stderr)
  t.equal(revoke.stdout, 'revoked 2 invites of @mallory:example.org\n')
  t.equal((await requestToken(rg.port, 'm1@example.net')).status, 403, 'the running regguard sees it at once')
  t.equal((await requestToken(rg.port, 'f1@example.net')).status, 200, 'another inviter\'s invite stays')

  const bad = await cli('invites', 'revoke', '--config', file, '--inviter', 'mallory')
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--inviter must be a user ID/)
  const both = await cli('invites', 'revoke', '--config', file, '--inviter', '@mallory:example.org', '17')
  t.equal(both.code, 2)
  t.equal((await cli('invites', 'add', '--config', file, '--inviter', '@a:b', 'email', 'x@example.net')).code, 2, '--inviter belongs to list and revoke')
})
