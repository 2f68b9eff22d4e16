import t, { type Test } from 'tap'
import { fileURLToPath } from 'node:url'
import { accountExists, freshRig, holdRig, installClients, mailFiles, mailFor, makeAdmin, restartSynapseWith, rigMissing, runClient, shadowBan, sleep, stopRig, SYNAPSE_URL } from '../helpers/synapse.js'
import { startGate, type Gate } from './installed-gate.js'

// End to end: the installed `regguard` command in front of a real Synapse 1.67 (the rig of
// ../shared/synapse, .ci/install-synapse.sh), with matrix-js-sdk clients talking to regguard's
// port only. One file, run in order: the rig has fixed ports, so one instance per machine.
// allowed.test may register, denied.test may not unless invited (installed-gate.ts's policy).

// the rig starts in seconds and each registration takes one or two; a loaded CI machine is slower
t.setTimeout(240_000)

const missing = rigMissing()
if (missing !== null) {
  // CI sets the rig up (.ci/run): there, a missing rig is a failure, not a reason to skip
  if (process.env.CI === '1') t.fail(missing)
  else t.plan(0, missing)
} else {
  await suite()
}

async function suite (): Promise<void> {
  const clientsSrc = fileURLToPath(new URL('./clients/', import.meta.url))
  // one run at a time on a machine; teardowns run last first: the gates stop, then the rig,
  // then the rig is let go
  const release = await holdRig()
  t.teardown(release)
  t.teardown(stopRig)
  await freshRig()
  installClients(clientsSrc)
  const ADMIN = '@rgadmin:localhost'
  const adminToken = await makeAdmin('rgadmin', 'rig-admin-Passw0rd')
  const gate = await startGate(t, {}, adminToken)

  const registers = async (tt: Test, g: Gate, user: string, email: string, ia = false): Promise<void> => {
    const r = await runClient('email_register.mjs', [user, email, g.url, ...(ia ? ['--ia'] : [])])
    tt.equal(r.result, `OK @${user}:localhost`, `${user} <${email}> registers through regguard${ia ? ' (InteractiveAuth)' : ''}`, { stdout: r.stdout, regguard: g.tail() })
    tt.ok(await accountExists(adminToken, `@${user}:localhost`), `Synapse has @${user}:localhost`)
  }
  const denied = async (tt: Test, g: Gate, user: string, email: string): Promise<void> => {
    const before = mailFiles()
    const r = await runClient('email_register.mjs', [user, email, g.url])
    tt.match(r.result, /^FAILED M_THREEPID_DENIED /, `${email} is refused with M_THREEPID_DENIED`, { stdout: r.stdout })
    // a mail Synapse sent would be in the sink by the time it answered; a little slack anyway
    await sleep(300)
    const fresh = mailFiles().filter((f) => !before.includes(f))
    tt.same(mailFor(email, fresh), [], `no mail reached ${email}`)
    tt.same(fresh, [], 'no mail at all was sent meanwhile')
    tt.notOk(await accountExists(adminToken, `@${user}:localhost`), `Synapse has no @${user}:localhost`)
  }
  const rooms = async (args: string[]): Promise<string> => {
    const r = await runClient('rooms.mjs', [args[0] as string, gate.url, ...args.slice(1)])
    if (!r.result.startsWith('OK ')) throw new Error(`rooms.mjs ${args[0]} failed: ${r.result}\n${r.stdout}\nregguard:\n${gate.tail()}`)
    return r.result.slice(3)
  }
  const invites = (): Promise<Map<string, string[]>> => gate.invites()

  await t.test('an allowed address registers through regguard (matrix-js-sdk, manual flow)', async (tt) => {
    await registers(tt, gate, 'alice', 'alice@allowed.test')
    tt.ok(mailFor('alice@allowed.test').length >= 1, 'its validation mail went through the sink')
  })

  await t.test('an allowed address registers through regguard (matrix-js-sdk InteractiveAuth)', async (tt) => {
    await registers(tt, gate, 'bob', 'bob@allowed.test', true)
  })

  await t.test('a denied address gets M_THREEPID_DENIED and no mail', async (tt) => {
    await denied(tt, gate, 'mallory', 'mallory@denied.test')
  })

  await t.test('a createRoom invite_3pid made through regguard opens registration for the invitee', async (tt) => {
    await denied(tt, gate, 'invitee1', 'invitee1@denied.test')
    const room = await rooms(['create', adminToken, 'invitee1@denied.test'])
    tt.equal(await rooms(['third-party-invites', adminToken, room]), '1', 'Synapse made the 3PID invite')
    const learned = (await invites()).get('invitee1@denied.test')
    tt.ok(learned, 'regguard recorded the invite', { regguard: gate.tail() })
    if (learned !== undefined) {
      tt.same([learned[3], learned[5], learned[6], learned[7]], ['pending', 'traffic', room, ADMIN], 'pending, learned from traffic, in that room, by the inviter whoami named')
    }
    await registers(tt, gate, 'invitee1', 'invitee1@denied.test')
  })

  await t.test('a POST /rooms/{id}/invite 3PID invite by an ordinary user opens registration for the invitee', async (tt) => {
    await registers(tt, gate, 'carol', 'carol@allowed.test')
    const carol = await rooms(['login', 'carol', 'rig-Passw0rd-carol'])
    const room = await rooms(['create', carol])
    tt.equal(await rooms(['third-party-invites', carol, room]), '0', 'a room without 3PID invites')
    await rooms(['invite', carol, room, 'invitee2@denied.test'])
    tt.equal(await rooms(['third-party-invites', carol, room]), '1', 'Synapse made the 3PID invite')
    const learned = (await invites()).get('invitee2@denied.test')
    tt.ok(learned, 'regguard recorded the invite', { regguard: gate.tail() })
    if (learned !== undefined) tt.same([learned[6], learned[7]], [room, '@carol:localhost'], 'in that room, by carol')
    await registers(tt, gate, 'invitee2', 'invitee2@denied.test', true)
  })

  await t.test('a shadow-banned inviter\'s 3PID invite (answered 200, sent to nobody) opens nothing', async (tt) => {
    await registers(tt, gate, 'sheila', 'sheila@allowed.test')
    const sheila = await rooms(['login', 'sheila', 'rig-Passw0rd-sheila'])
    const room = await rooms(['create', sheila])
    await shadowBan(adminToken, '@sheila:localhost')
    tt.equal(await rooms(['invite', sheila, room, 'shadowed@denied.test']), '{}', 'Synapse answers the invite 200 as if made')
    tt.equal(await rooms(['third-party-invites', sheila, room]), '0', 'but made none')
    tt.notOk((await invites()).has('shadowed@denied.test'), 'regguard learned nothing')
    // and for that reason, not another one that would refuse any inviter (the admin API misread)
    const why = gate.logs.filter((l) => l.msg === 'invite not learned' && JSON.stringify(l.addresses ?? null).includes('shadowed@denied.test')).map((l) => l.reason)
    tt.same(why, ['inviter-shadow-banned'], 'because homeserver.admin_token\'s admin API says she is shadow-banned', { regguard: gate.tail() })
    await denied(tt, gate, 'shadowed', 'shadowed@denied.test')
  })

  await t.test('a replayed PUT createRoom transaction teaches nothing new', async (tt) => {
    const txn = `e2e-replay-${Date.now()}`
    const room = await rooms(['create-txn', adminToken, txn, 'replay1@denied.test'])
    const again = await rooms(['create-txn', adminToken, txn, 'replay2@denied.test'])
    tt.equal(again, room, 'Synapse answered the replay from its transaction cache (same room)')
    tt.equal(await rooms(['third-party-invites', adminToken, room]), '1', 'and invited nobody more')
    const list = await invites()
    tt.ok(list.has('replay1@denied.test'), 'the first request taught its invitee', { regguard: gate.tail() })
    tt.notOk(list.has('replay2@denied.test'), 'the replay taught nothing')
    await denied(tt, gate, 'replay2', 'replay2@denied.test')
    await registers(tt, gate, 'replay1', 'replay1@denied.test')
  })

  await t.test('with register.policy.require_3pid a dummy-only registration creates no account', async (tt) => {
    // the rig's Synapse requires an email itself; this one lets m.login.dummy alone register
    await restartSynapseWith({ registrations_require_3pid: '[]', enable_registration_without_verification: 'true' })
    const direct = await runClient('dummy_register.mjs', ['dave', SYNAPSE_URL])
    tt.equal(direct.result, 'OK @dave:localhost', 'control: straight to Synapse, m.login.dummy alone registers', { stdout: direct.stdout })
    const open = await runClient('dummy_register.mjs', ['frank', gate.url])
    tt.equal(open.result, 'OK @frank:localhost', 'control: through regguard without require_3pid it registers too', { stdout: open.stdout })

    const strict = await startGate(tt, { require_3pid: true }, adminToken)
    const r = await runClient('dummy_register.mjs', ['eve', strict.url])
    tt.match(r.result, /^FAILED M_FORBIDDEN /, 'through regguard with require_3pid the dummy stage is refused', { stdout: r.stdout, regguard: strict.tail() })
    // Synapse offers its email and phone flows beside the dummy one: those are kept
    const flows = /^FLOWS: (.*)$/m.exec(r.stdout)
    const offered = flows === null ? null : JSON.parse(flows[1] as string) as Array<{ stages: string[] }>
    tt.ok(offered !== null && offered.length > 0, 'regguard offered flows', { stdout: r.stdout })
    tt.same((offered ?? []).filter((f) => !f.stages.some((s) => s === 'm.login.email.identity' || s === 'm.login.msisdn')), [], 'none of them without a 3PID stage')
    tt.notOk(await accountExists(adminToken, '@eve:localhost'), 'Synapse has no @eve:localhost')
  })
}
