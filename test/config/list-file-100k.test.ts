import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { canonicalEmail } from '../../src/synapse/canonical.js'
import { decide } from '../../src/policy/policy.js'

// A disposable-email list of 100,000 lines loads and every entry decides as written. Only
// correctness is asserted here; the speed claim belongs to the benchmark.

t.test('a 100,000-line disposable-domain file', async (t) => {
  const dir = t.testdir({})
  const lines: string[] = ['# generated disposable-domain list']
  for (let i = 0; i < 100_000; i++) {
    if (i % 1000 === 0) lines.push('', `# block ${i / 1000}`)
    lines.push(i % 3 === 0 ? `*spam${i}.example` : i % 3 === 1 ? `.sub${i}.example` : `exact${i}.example`)
  }
  writeFileSync(join(dir, 'disposable.txt'), lines.join('\n') + '\n')
  const cfg = loadConfig({
    object: { register: { policy: { allowed: true, threepid: { email: { domain: { blacklist_files: ['disposable.txt'], whitelist: ['*exact1.example'] } } } } } },
    baseDir: dir,
    env: {}
  })
  t.equal(cfg.policy.email.blacklist.domains.size, 100_000 + Math.ceil(100_000 / 3), '*entries count twice: exact and parent')
  const denied = (email: string): boolean => {
    const c = canonicalEmail(email)
    if (!c.ok) throw new Error(c.reason)
    return !decide(cfg.policy, 'email', c.address).allowed
  }
  let wrong = 0
  for (let i = 0; i < 100_000; i += 7) {
    const want = i % 3 === 0
      ? [denied(`u@spam${i}.example`), denied(`u@a.b.spam${i}.example`)]
      : i % 3 === 1
        ? [!denied(`u@sub${i}.example`), denied(`u@x.sub${i}.example`)]
        : [denied(`u@exact${i}.example`), !denied(`u@x.exact${i}.example`)]
    if (!want.every(Boolean)) wrong++
  }
  t.equal(wrong, 0, 'every sampled entry decides as its syntax says')
  t.equal(denied('u@SPAM99999.example'), true, 'last line, other case')
  t.equal(denied('u@spam0.example'), true, 'first entry')
  t.equal(denied('u@spam3x.example'), false, 'no prefix matching')
  t.equal(denied('u@gmail.com'), false)
  t.equal(decide(cfg.policy, 'email', 'u@x.exact1.example').rule, 'whitelist', 'whitelist still consulted after a miss')
  t.equal(decide(cfg.policy, 'email', 'u@exact2.example').rule, 'blacklist')
})
