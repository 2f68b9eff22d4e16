import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Page } from 'playwright-core'
import t from 'tap'
import { startHomeserver } from '../helpers/homeserver.js'
import { rawPost } from '../helpers/raw-http.js'
import { startRegguard } from '../helpers/regguard.js'
import { ADMIN_TOKEN, adminCall } from '../invites/helpers.js'
import { tempDir } from '../store/backends.js'

// The operator console in a real browser (Debian's chromium, headless, driven by
// playwright-core) against a running regguard and the stand-in homeserver: sign-in (and a wrong
// token refused), a decision made through the proxy showing up in the history, an invite added
// in the console letting its address through the proxy and, revoked there, no longer, the
// policy tester, the lists. With REGGUARD_CONSOLE_SCREENSHOTS=1 each page is written to
// docs/console/*.png (scripts/console-screenshots.mjs).

const CHROMIUM = '/usr/bin/chromium'
const ROOT = join(import.meta.dirname, '..', '..')
const SHOTS = process.env.REGGUARD_CONSOLE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'console') : null

if (!existsSync(CHROMIUM) && process.env.CI !== '1') {
  t.skip('chromium is not installed (bash .ci/install-chromium.sh)')
} else {
  t.test('the console in a browser', async (t) => {
    // the console as `npm run build` makes it, from the sources in this tree
    const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-console.mjs')], { encoding: 'utf8' })
    t.equal(built.status, 0, `console built ${built.stderr}`)

    const hs = await startHomeserver(t)
    const rg = await startRegguard(t, hs.url, {
      admin: { token: ADMIN_TOKEN },
      homeserver: { server_name: 'example.org' },
      // a live list whose source is down (nothing listens on port 1): it must show as failing
      lists: { cache_dir: tempDir(t, 'regguard-lists-'), timeout_ms: 2000 },
      register: { policy: { allowed: false, threepid: { email: { domain: { whitelist: ['*example.org'], blacklist: ['spam.example.org'], blacklist_urls: ['http://127.0.0.1:1/disposable.txt'] } }, msisdn: { pattern: { whitelist: ['44.*'] } } } } }
    })
    const consoleUrl = `${rg.adminUrl}/_regguard/admin/`
    const requestToken = async (email: string): Promise<number> =>
      (await rawPost(rg.port, '/_matrix/client/v3/register/email/requestToken', JSON.stringify({ client_secret: 'cs-console', email, send_attempt: 1 }))).status

    const browser = await chromium.launchPersistentContext(tempDir(t, 'regguard-chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 860 }
    })
    t.teardown(() => browser.close())
    const page = browser.pages()[0] ?? await browser.newPage()
    page.setDefaultTimeout(10_000)
    const dialogs: string[] = []
    page.on('dialog', (d) => { dialogs.push(`${d.type()}: ${d.message()}`); void d.accept() })
    // the page must need nothing but the admin listener, and break none of its CSP
    const foreign: string[] = []
    const problems: string[] = []
    page.on('request', (r) => { if (!r.url().startsWith(rg.adminUrl) && !r.url().startsWith('data:')) foreign.push(r.url()) })
    page.on('console', (m) => { // the API's 4xx answers (a wrong token, a bad address) are expected; they log as failed loads
      if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4[0-9][0-9]/.test(m.text())) problems.push(m.text()) })
    page.on('pageerror', (e) => { problems.push(e.message) })
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => { console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`) })
    })
    const shot = async (name: string): Promise<void> => {
      if (SHOTS === null) return
      mkdirSync(SHOTS, { recursive: true })
      await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
    }
    const go = async (p: Page, title: string): Promise<void> => {
      await p.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: title }).click()
      await p.getByRole('heading', { level: 1, name: title }).waitFor()
    }

    const res = await page.goto(consoleUrl)
    t.equal(res?.status(), 200)
    const headers = res?.headers() ?? {}
    t.match(headers['content-security-policy'], /script-src 'self'; style-src 'self'/, 'a strict CSP')
    t.equal(headers['x-content-type-options'], 'nosniff')
    t.match(headers['content-type'], /^text\/html/)

    await t.test('a wrong token is refused', async (t) => {
      await page.getByLabel('Admin token').fill('not-the-token')
      await shot('sign-in')
      await page.getByLabel('Admin token').press('Enter')
      t.match(await page.getByRole('alert').textContent(), /not the admin token/)
      t.equal(await page.getByRole('navigation', { name: 'Console pages' }).count(), 0, 'still signed out')
    })

    await t.test('signing in with the admin token, by keyboard', async (t) => {
      await page.getByLabel('Admin token').fill(ADMIN_TOKEN)
      await page.getByLabel('Admin token').press('Enter')
      await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
      t.equal(await page.evaluate(() => document.cookie), '', 'no cookie')
      t.equal(await page.evaluate(() => sessionStorage.length), 1, 'the token is in the tab\'s session storage')
      // /ready is asked after the page shows: wait for its answer (a failed one never matches)
      await page.locator('#status', { hasText: /Homeserverok/ }).waitFor({ timeout: 5000 }).catch(() => {})
      t.match(await page.locator('#status').textContent(), /Homeserverok/, 'the homeserver answers')
      t.match(await page.locator('#status').textContent(), /Storeok/, 'the store answers')
    })

    await t.test('a decision made through the proxy appears in the history and the chart', async (t) => {
      t.equal(await requestToken('mallory@spam.example.org'), 403)
      await go(page, 'Decisions')
      const row = page.locator('#decisions tbody tr', { hasText: 'spam.example.org' })
      for (let i = 0; i < 40 && await row.count() === 0; i++) {
        await page.getByRole('button', { name: 'Refresh' }).click()
        await page.waitForTimeout(250)
      }
      t.equal(await row.count(), 1, 'the denial is listed')
      t.ok(await page.locator('#decisions thead th', { hasText: /^Count$/ }).count() === 1, 'a count column')
      await page.locator('select[name="rule"] option', { hasText: /^blacklist$/ }).waitFor({ state: 'attached' })
      const ruleOptions = await page.locator('select[name="rule"] option').allTextContents()
      t.ok(ruleOptions.includes('blacklist'), 'the rule picker lists the rules, the ones in range without a note')
      t.ok(ruleOptions.includes('invite (none in range)'), `${ruleOptions.join(', ')}`)
      t.match(await page.getByRole('status').first().textContent(), /\d+ rows \(\d+ decisions\) in the last 24 hours/)
      await page.locator('select[name="range"]').selectOption({ label: 'last 1 hour' })
      await page.getByRole('status').filter({ hasText: 'last 1 hour' }).waitFor()
      t.equal(await row.count(), 1, 'made a moment ago: in the last hour too')
      await page.locator('select[name="range"]').selectOption({ label: 'last 24 hours' })
      await page.getByRole('status').filter({ hasText: 'last 24 hours' }).waitFor()
      const text = await row.first().textContent() ?? ''
      t.match(text, /register\/requestToken/)
      t.match(text, /deny/)
      t.match(text, /blacklist/)
      t.notMatch(text, /mallory/, 'the local part is redacted, as in the logs')
      await page.getByLabel('Result').selectOption('allow')
      await page.getByRole('button', { name: 'Filter' }).click()
      // the status line already said "shown" before the filter: wait for the row itself to go
      // (a filter that did not work leaves it, and the count below fails)
      await page.locator('#decisions tbody tr', { hasText: 'spam.example.org' }).waitFor({ state: 'detached', timeout: 5000 }).catch(() => {})
      t.equal(await page.locator('#decisions tbody tr', { hasText: 'spam.example.org' }).count(), 0, 'filtered out as not an allow')
      await page.getByLabel('Result').selectOption('')
      await page.getByRole('button', { name: 'Filter' }).click()
      await row.first().waitFor()
      // one address looked up as the operator types it: hashed as the server hashes it
      await page.getByLabel('Address').fill('Mallory@Spam.Example.ORG')
      await page.getByRole('button', { name: 'Filter' }).click()
      await page.getByRole('status').filter({ hasText: /^1 rows/ }).waitFor({ timeout: 5000 }).catch(() => {})
      t.equal(await page.locator('#decisions tbody tr').count(), 1, 'the address\'s decision, and only it')
      await page.getByLabel('Address').fill('someone-else@spam.example.org')
      await page.getByRole('button', { name: 'Filter' }).click()
      await row.first().waitFor({ state: 'detached', timeout: 5000 }).catch(() => {})
      t.equal(await row.count(), 0, 'another address of the same domain: none')
      await page.getByLabel('Address').fill('')
      await page.getByRole('button', { name: 'Filter' }).click()
      await row.first().waitFor()
      await shot('decisions')
      await go(page, 'Overview')
      await page.locator('.chart canvas').first().waitFor()
      t.ok(await page.getByText('deny · blacklist').count() > 0, 'the chart has a deny · blacklist series')
      await shot('overview')
    })

    await t.test('an invite added in the console lets its address through; revoked, it does not', async (t) => {
      t.equal(await requestToken('guest@elsewhere.net'), 403, 'denied by default before the invite')
      const before = hs.received.length
      await go(page, 'Invites')
      await page.getByLabel('Address', { exact: true }).first().fill('Guest@Elsewhere.NET')
      await page.getByRole('button', { name: 'Add invite' }).click()
      t.match(await page.locator('#invite-message').textContent(), /Added invite \d+: email guest@elsewhere\.net/)
      t.equal(await requestToken('guest@elsewhere.net'), 200, 'allowed by the invite')
      t.equal(hs.received.length, before + 1, 'the request reached the homeserver')
      await shot('invites')
      await page.getByRole('button', { name: /^Revoke invite \d+ for guest@elsewhere\.net$/ }).click()
      await page.locator('#invite-message', { hasText: 'Revoked invite' }).waitFor()
      t.match(dialogs.at(-1), /^confirm: Revoke invite \d+ for guest@elsewhere\.net\? It cannot be undone/, 'revoking asks first')
      t.equal(await requestToken('guest@elsewhere.net'), 403, 'denied once revoked')
      t.equal(hs.received.length, before + 1, 'the denied request never reached the homeserver')
    })

    await t.test('a CSV import adds every line, all or nothing', async (t) => {
      await page.getByLabel('CSV file').setInputFiles({ name: 'invites.csv', mimeType: 'text/csv', buffer: Buffer.from('# two\nemail,one@elsewhere.net\nmsisdn,+1 202 555 0143\n') })
      await page.getByRole('button', { name: 'Import' }).click()
      t.match(await page.locator('#invite-message', { hasText: 'Imported' }).textContent(), /Imported 2 invites/)
      t.equal(await requestToken('one@elsewhere.net'), 200)
      await page.getByLabel('CSV file').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from('email,two@elsewhere.net\nemail,broken\n') })
      await page.getByRole('button', { name: 'Import' }).click()
      t.match(await page.locator('#invite-message', { hasText: 'bad.csv' }).textContent(), /line:2: not a valid email address/)
      t.equal(await requestToken('two@elsewhere.net'), 403, 'nothing from the bad file')
      // newest first: the import's last line heads the list
      await go(page, 'Invites')
      await page.locator('#invites tbody tr').first().waitFor()
      const ids = (await page.locator('#invites tbody tr td:first-child').allTextContents()).map((x) => Number(x.trim()))
      t.ok(ids.length >= 3, `invites listed (${ids.join(', ')})`)
      t.same(ids, [...ids].sort((a, b) => b - a), 'newest first')
      t.match(await page.locator('#invites tbody tr').first().textContent(), /12025550143/, 'the newest invite first')
    })

    // Inviters exist once invites record who made them (POST /invites/revoke {"inviter"}):
    // until then the console says it cannot, and this step checks just that.
    const probe = await adminCall(rg.adminUrl, 'POST', '/_regguard/admin/v1/invites/revoke', { inviter: '@nobody:example.org' })
    const inviters = probe.status !== 404
    await t.test(`filter by inviter and revoke all of theirs${inviters ? '' : ' (not in this regguard: the console says so)'}`, async (t) => {
      await page.reload()
      await page.getByRole('heading', { level: 1, name: 'Invites' }).waitFor()
      await page.locator('#invites').waitFor()
      if (!inviters) {
        t.ok(await page.getByLabel('Inviter').isDisabled(), 'the inviter filter is off')
        t.match(await page.getByLabel('Inviter').getAttribute('placeholder'), /not recorded/)
        return
      }
      const added = await adminCall(rg.adminUrl, 'POST', '/_regguard/admin/v1/invites', { medium: 'email', address: 'friend@elsewhere.net', inviter: '@alice:example.org' })
      t.equal(added.status, 201)
      t.equal(await requestToken('friend@elsewhere.net'), 200)
      await page.reload()
      await page.getByLabel('Inviter').fill('@alice:example.org')
      await page.getByRole('button', { name: 'Search' }).click()
      await page.locator('#invites tbody tr', { hasText: 'friend@elsewhere.net' }).waitFor()
      await page.getByRole('button', { name: /Revoke all of @alice:example\.org/ }).click()
      await page.locator('#invite-message', { hasText: 'Revoked' }).waitFor()
      t.equal(await requestToken('friend@elsewhere.net'), 403, 'denied once the inviter\'s invites are revoked')
    })

    await t.test('the policy tester gives the decision and the rule', async (t) => {
      await go(page, 'Policy tester')
      const check = async (medium: string, address: string): Promise<string> => {
        await page.getByLabel('What to test').selectOption(medium)
        await page.getByLabel(/Email address|Phone number|Username/).fill(address)
        await page.getByRole('button', { name: 'Check' }).click()
        await page.locator('#verdict', { hasText: address.toLowerCase().replace(/[^a-z0-9@.]/g, '').slice(0, 3) }).waitFor()
        return await page.locator('#verdict').textContent() ?? ''
      }
      t.match(await check('email', 'Bob@Example.ORG'), /Allowed.*bob@example\.org.*whitelist.*allowed by whitelist domain \*?example\.org/s)
      t.match(await check('email', 'eve@spam.example.org'), /Denied.*blacklist/s)
      t.match(await check('msisdn', '+44 7700 900123'), /Allowed.*447700900123.*whitelist/s)
      await shot('tester')
      t.match(await check('email', 'one@elsewhere.net'), /Allowed.*invite/s, 'an imported invite counts')
      await page.getByLabel(/Email address/).fill('not an address')
      await page.getByRole('button', { name: 'Check' }).click()
      t.match(await page.locator('#test-error').textContent(), /cannot parse email/)
    })

    await t.test('the lists page shows each list', async (t) => {
      await go(page, 'Lists')
      await page.locator('#config-lists').waitFor()
      const text = await page.locator('#config-lists').textContent() ?? ''
      t.match(text, /email whitelist domains.*register\.policy\.threepid\.email\.domain\.whitelist.*1/s)
      t.match(text, /phone whitelist patterns/)
      // the live list as /ready reports it: its source, no copy, and its last error
      const live = page.locator('#live-lists tbody tr', { hasText: '127.0.0.1:1/disposable.txt' })
      await live.waitFor()
      const row = await live.textContent() ?? ''
      t.match(row, /email blacklist \(live\)/)
      t.match(row, /no copy/)
      t.match(row, /never/)
      t.notMatch(row, /none$/, 'the last error is shown')
      t.ok(await live.locator('td.bad').count() === 1, 'marked as failing')
      await shot('lists')
    })

    await t.test('the overview shows a failing live list', async (t) => {
      await go(page, 'Overview')
      await page.locator('#live-status', { hasText: 'failing' }).waitFor()
      t.equal(await page.locator('#live-status').textContent(), '1 of 1 failing')
      t.match(await page.locator('#failing-lists').textContent(), /127\.0\.0\.1:1\/disposable\.txt/)
    })

    await t.test('at 390 px wide no page scrolls sideways', async (t) => {
      await page.setViewportSize({ width: 390, height: 844 })
      t.teardown(() => page.setViewportSize({ width: 1280, height: 860 }))
      for (const title of ['Overview', 'Decisions', 'Invites', 'Policy tester', 'Lists']) {
        await go(page, title)
        await page.waitForTimeout(300)
        const width = await page.evaluate(() => document.documentElement.scrollWidth)
        // the widest elements that stick out, to say what overflows
        const wide = await page.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 391 && e.closest('.scroll') === null).slice(0, 3).map((e) => `${e.tagName.toLowerCase()}${e.id !== '' ? '#' + e.id : ''}.${e.className}`))
        t.ok(width <= 390, `${title}: ${width} px of content ${wide.join(' ')}`)
      }
    })

    await t.test('dark mode follows prefers-color-scheme', async (t) => {
      const background = async (): Promise<string> => await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)
      await page.emulateMedia({ colorScheme: 'light' })
      const light = await background()
      await page.emulateMedia({ colorScheme: 'dark' })
      const dark = await background()
      t.not(dark, light)
      const [r, g, b] = (dark.match(/\d+/g) ?? []).map(Number)
      t.ok((r ?? 255) + (g ?? 255) + (b ?? 255) < 150, `a dark background: ${dark}`)
      await page.emulateMedia({ colorScheme: 'light' })
    })

    await t.test('signing out forgets the token', async (t) => {
      await page.getByRole('button', { name: 'Sign out' }).click()
      await page.getByLabel('Admin token').waitFor()
      t.equal(await page.evaluate(() => sessionStorage.length), 0)
    })

    t.same(foreign, [], 'nothing loaded from anywhere but regguard')
    t.same(problems, [], 'no script error, no CSP violation')
  })
}
