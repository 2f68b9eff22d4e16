import { spawnSync } from 'node:child_process'
import t from 'tap'
import { PolicyConfigError } from '../../src/policy/policy.js'
import { compileConstraints, type ConstraintLists } from '../../src/policy/string-constraints.js'
import { decideUsername, describeUsernameDecision, registeredLocalpart, type UsernameRules } from '../../src/policy/username.js'

// Username rules mirror MAS's register.rego: banned denies; a non-empty allowed list must be
// matched; the five kinds of string constraints as common.rego defines them.

const none: ConstraintLists = { literals: [], prefixes: [], suffixes: [], substrings: [], regexes: [] }
function rules (allowed: Partial<ConstraintLists>, banned: Partial<ConstraintLists>): UsernameRules {
  return {
    allowed: compileConstraints({ ...none, ...allowed }, 'allowed', registeredLocalpart),
    banned: compileConstraints({ ...none, ...banned }, 'banned', registeredLocalpart)
  }
}

t.test('each kind of banned entry denies, naming the entry', async (t) => {
  const r = rules({}, { literals: ['admin'], prefixes: ['spam'], suffixes: ['bot'], substrings: ['viagra'], regexes: ['^[0-9]+x$'] })
  const cases: Array<[string, boolean, string]> = [
    ['admin', false, 'denied by username.banned literal "admin"'],
    ['administrator', true, 'allowed (no username rule matched)'],
    ['spammer', false, 'denied by username.banned prefix "spam"'],
    ['myspam', true, 'allowed (no username rule matched)'],
    ['chatbot', false, 'denied by username.banned suffix "bot"'],
    ['botany', true, 'allowed (no username rule matched)'],
    ['buyviagranow', false, 'denied by username.banned substring "viagra"'],
    ['123x', false, 'denied by username.banned regex "^[0-9]+x$"'],
    ['a123x', true, 'allowed (no username rule matched)']
  ]
  for (const [name, allowed, text] of cases) {
    const d = decideUsername(r, name)
    t.equal(d.allowed, allowed, name)
    t.equal(describeUsernameDecision(d), text, name)
  }
})

t.test('regexes search like Rego regex.match (not anchored)', async (t) => {
  const r = rules({}, { regexes: ['adm'] })
  t.equal(decideUsername(r, 'badmin').allowed, false, 'matches in the middle')
})

t.test('allowed: empty means no constraint; with entries a name must match one', async (t) => {
  t.equal(decideUsername(rules({}, {}), 'anyone').allowed, true)
  const r = rules({ prefixes: ['staff-'], literals: ['alice'] }, { literals: ['staff-root'] })
  t.equal(describeUsernameDecision(decideUsername(r, 'staff-bob')), 'allowed by username.allowed prefix "staff-"')
  t.equal(describeUsernameDecision(decideUsername(r, 'alice')), 'allowed by username.allowed literal "alice"')
  t.equal(describeUsernameDecision(decideUsername(r, 'mallory')), 'denied by username.allowed no entry matched')
  t.equal(describeUsernameDecision(decideUsername(r, 'staff-root')), 'denied by username.banned literal "staff-root"', 'banned wins over allowed')
})

t.test('no username (a generated localpart): refused only when allowed has entries', async (t) => {
  const open = decideUsername(rules({}, { literals: ['admin'] }), null)
  t.equal(open.allowed, true)
  t.equal(open.missing, true)
  const closed = decideUsername(rules({ literals: ['alice'] }, {}), null)
  t.equal(closed.allowed, false)
  t.equal(closed.rule, 'username.allowed')
  t.equal(closed.missing, true)
})

t.test('plain entries are lower-cased like the name; regexes are kept as written', async (t) => {
  const r = rules({}, { literals: ['Admin'], regexes: ['^Root$'] })
  t.same(r.banned.lists.literals, ['admin'])
  t.same(r.banned.lists.regexes, ['^Root$'])
  t.equal(decideUsername(r, registeredLocalpart('ADMIN')).allowed, false)
})

t.test('an invalid regex stops start-up naming its key', async (t) => {
  const err = t.throws(() => compileConstraints({ ...none, regexes: ['ok', '(unclosed'] }, 'register.policy.username.banned')) as PolicyConfigError
  t.type(err, PolicyConfigError)
  t.equal(err.key, 'register.policy.username.banned.regexes[1]')
})

t.test('registeredLocalpart is Python str.lower() wherever the result could be a valid localpart', async (t) => {
  // Every code point whose lower-case form is made only of characters Synapse allows in a
  // localpart, computed on both sides: those are the spellings that could register a name the
  // rules were written for. Plus multi-character inputs where context matters (final sigma).
  const VALID = '^[a-z0-9._=\\-/+]+$'
  const valid = new RegExp(VALID)
  const js: Array<[number, string]> = []
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue
    const lower = registeredLocalpart(String.fromCodePoint(cp))
    if (valid.test(lower)) js.push([cp, lower])
  }
  const words = ['ΑΣ', 'ΣΑ', 'ABC\u212aDEF', 'İSTANBUL', 'STRASSE', 'Straße']
  const script = [
    'import json, re, sys',
    `v = re.compile(${JSON.stringify(VALID)})`,
    'words = json.load(sys.stdin)',
    'cps = [[cp, chr(cp).lower()] for cp in range(0x110000) if not 0xd800 <= cp <= 0xdfff and v.match(chr(cp).lower()) and chr(cp).lower()[-1:] != "\\n"]',
    'print(json.dumps({"cps": cps, "words": [w.lower() for w in words]}))'
  ].join('\n')
  const py = spawnSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(words), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  t.equal(py.status, 0, py.stderr)
  const out = JSON.parse(py.stdout) as { cps: Array<[number, string]>, words: string[] }
  t.same(js, out.cps, 'the same code points lower-case to valid localparts, to the same strings')
  t.same(words.map(registeredLocalpart), out.words, 'words')
  t.ok(js.some(([cp, l]) => cp === 0x212a && l === 'k'), 'KELVIN SIGN lower-cases to "k" on both sides')
})
