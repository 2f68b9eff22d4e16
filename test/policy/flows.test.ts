import t from 'tap'
import { completesThreepidFreeFlow, keepThreepidFlows, readFlows } from '../../src/policy/flows.js'

// The stand-in homeserver's flows in the issue: [[dummy]], [[email]], [[recaptcha, dummy]], [[registration_token]]
const FLOWS = [['m.login.dummy'], ['m.login.email.identity'], ['m.login.recaptcha', 'm.login.dummy'], ['m.login.registration_token']]
const body = { session: 's', flows: FLOWS.map((stages) => ({ stages })), params: {} }

t.test('only flows with an email or phone stage are kept', async (t) => {
  const { body: out, left } = keepThreepidFlows(body)
  t.equal(left, 1)
  t.same(out.flows, [{ stages: ['m.login.email.identity'] }])
  t.equal(out.session, 's', 'the rest of the body is kept')
  t.same(readFlows(out), [['m.login.email.identity']])
})

t.test('none left when no flow has a 3PID stage', async (t) => {
  t.equal(keepThreepidFlows({ flows: [{ stages: ['m.login.dummy'] }] }).left, 0)
  t.equal(keepThreepidFlows({}).left, 0)
})

t.test('which stage submissions would finish a 3PID-free flow', async (t) => {
  t.ok(completesThreepidFreeFlow(FLOWS, [], 'm.login.dummy'), 'dummy alone')
  t.ok(completesThreepidFreeFlow(FLOWS, [], 'm.login.registration_token'), 'token alone')
  t.notOk(completesThreepidFreeFlow(FLOWS, [], 'm.login.recaptcha'), 'recaptcha alone finishes nothing')
  t.notOk(completesThreepidFreeFlow([['m.login.recaptcha', 'm.login.dummy']], [], 'm.login.recaptcha'), 'first of two stages')
  t.ok(completesThreepidFreeFlow([['m.login.recaptcha', 'm.login.dummy']], ['m.login.recaptcha'], 'm.login.dummy'), 'second of two')
  t.notOk(completesThreepidFreeFlow(FLOWS, ['m.login.email.identity'], 'm.login.dummy'), 'after a 3PID stage the account has the 3PID')
  t.notOk(completesThreepidFreeFlow([['m.login.recaptcha', 'm.login.email.identity']], ['m.login.recaptcha'], 'm.login.terms'), 'no 3PID-free flow at all')
})
