import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { canonicalEmail } from '../../src/synapse/canonical.js'
import { decide } from '../../src/policy/policy.js'

// The example from ma1sd's registration doc (shared/seeds/ma1sd-registration.md.txt), pasted
// as-is into regguard's config file, gives the decisions that doc promises.

const MA1SD_EXAMPLE = `register:
  policy:
    threepid:
      email:
        domain:
          whitelist:
            - '*example.org'
            - '.example.net'
            - 'example.com'
`

// "Users can register using an email from example.org and any sub-domain, only sub-domains of
// example.net and example.com but not its sub-domains. Otherwise, user registration will be
// denied." Pending invites allow (register.invite defaults to true).
const PROMISED: Record<string, boolean> = {
  'alice@example.org': true,
  'alice@sub.example.org': true,
  'alice@a.b.example.org': true,
  'alice@example.net': false,
  'alice@sub.example.net': true,
  'alice@example.com': true,
  'alice@sub.example.com': false,
  'alice@badexample.org': false,
  'alice@gmail.com': false
}

t.test('the ma1sd doc example, pasted as-is', async (t) => {
  const dir = t.testdir({})
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, 'homeserver:\n  url: http://127.0.0.1:8008\n' + MA1SD_EXAMPLE)
  const cfg = loadConfig({ file, env: {} })
  for (const [email, allowed] of Object.entries(PROMISED)) {
    const c = canonicalEmail(email)
    if (!c.ok) { t.fail(c.reason); continue }
    t.equal(decide(cfg.policy, 'email', c.address).allowed, allowed, `${email} ${allowed ? 'allowed' : 'denied'}`)
  }
  t.equal(cfg.policy.invite, true, 'invites allow by default')
  t.same(decide(cfg.policy, 'email', 'bob@gmail.com', { id: 'i1' }), { allowed: true, rule: 'invite', detail: 'i1' })
  t.equal(decide(cfg.policy, 'msisdn', '447700900123').allowed, false, 'phone numbers: no list, register.allowed false')
})

t.test('the same block in the doc\'s prose layout', async (t) => {
  const dir = t.testdir({})
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, [
    'register:',
    '  allowed: false',
    '  invite: true',
    '  threepid:',
    '    email:',
    '      domain:',
    '        whitelist:',
    "          - '*example.org'",
    "          - '.example.net'",
    "          - 'example.com'"
  ].join('\n'))
  const cfg = loadConfig({ file, env: {} })
  for (const [email, allowed] of Object.entries(PROMISED)) {
    t.equal(decide(cfg.policy, 'email', (canonicalEmail(email) as { address: string }).address).allowed, allowed, email)
  }
})
