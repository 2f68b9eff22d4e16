import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import YAML from 'yaml'
import { run } from '../../src/cli/main.js'
import { writeCopy } from '../../src/lists/cache.js'
import { emailAllowed } from '../helpers/mas-policy.js'
import { masStandin } from '../helpers/mas-standin.js'

// `regguard mas push` through the command line's dispatch (in-process), against the stand-in MAS.

async function cli (args: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await run(args, { out: (s) => { out += s }, err: (s) => { err += s }, env: {} })
  return { code, out, err }
}

t.test('regguard mas push --config FILE: pushed, the live list included, every case spelling denied', async (t) => {
  const mas = await masStandin({ clientId: 'regguard', clientSecret: 's3cret' })
  t.teardown(() => mas.close())
  const dir = t.testdir({ secret: 's3cret\n' })
  const url = 'https://lists.example/disposable_email_blocklist.conf'
  writeCopy(join(dir, 'lists'), { url, etag: null, last_modified: null, fetched_at: Date.now(), entries: 1, checked_at: null, last_error: null, last_error_at: null }, Buffer.from('mailinator.com\n'))
  const file = join(dir, 'regguard.yaml')
  writeFileSync(file, YAML.stringify({
    storage: { url: `sqlite://${join(dir, 'r.sqlite')}` },
    lists: { cache_dir: join(dir, 'lists') },
    register: { policy: { allowed: false, invite: true, threepid: { email: { domain: { whitelist: ['*example.org'], blacklist: ['evil.example.org'], blacklist_urls: [url] }, mx: { require: true } } } } },
    mas: { url: mas.url, client_id: 'regguard', client_secret_file: join(dir, 'secret'), state_file: join(dir, 'state.json') }
  }))
  const r = await cli(['mas', 'push', '--config', file])
  t.equal(r.code, 0, r.err)
  t.match(r.out, /pushed to http:\/\/127\.0\.0\.1:\d+\/: policy data [0-9A-Z]{26}/)
  t.match(r.err, /NOT EXPORTED: register\.policy\.threepid\.email\.mx\.require/)
  t.match(r.err, /NOT EXPORTED: register\.policy\.invite/)
  const data = mas.merged()
  for (const denied of ['x@mailinator.com', 'x@MAILINATOR.COM', 'x@Mailinator.Com', 'x@evil.example.org', 'x@EVIL.EXAMPLE.ORG', 'x@sub.mailinator.com', 'x@gmail.com']) t.notOk(emailAllowed(data, denied), denied)
  for (const allowed of ['x@example.org', 'X@EXAMPLE.ORG', 'x@sub.Example.org']) t.ok(emailAllowed(data, allowed), allowed)

  mas.set({ refuse: () => 'no room for more data' })
  const refused = await cli(['mas', 'push', '--config', file])
  t.equal(refused.code, 3)
  t.match(refused.err, /^regguard: MAS refused the policy data \(400; it keeps the data it had\): Failed to instanciate policy with the provided data: no room for more data\n$/m)
  const usage = await cli(['mas', 'pull', '--config', file])
  t.equal(usage.code, 2)
  t.match(usage.err, /^regguard: mas needs: push\nsee: regguard mas --help\n$/)
})
