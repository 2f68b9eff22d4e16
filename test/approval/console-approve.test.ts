import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import t from 'tap'
import { defaultReply, startHomeserver } from '../helpers/homeserver.js'
import { startRegguard } from '../helpers/regguard.js'
import { emailStage, post, requestEmailToken } from '../helpers/register.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { startWebhookReceiver } from '../helpers/webhook-receiver.js'
import { tempDir } from '../store/backends.js'

// Issue 25's "done when", in a real browser (Debian's chromium, as test/console drives it):
// two denied addresses ask to join; the operator approves one and rejects the other with a
// reason in the console, both selected at once; the approved applicant's mail arrives with
// the link; the address then registers; the registration's notice reaches the room and the
// webhook with a valid signature.

const CHROMIUM = '/usr/bin/chromium'
const ROOT = join(import.meta.dirname, '..', '..')
const TOKEN = 'console-admin-token'
const LINK = 'https://element.example.org/#/register'

if (!existsSync(CHROMIUM) && process.env.CI !== '1') {
  t.skip('chromium is not installed (bash .ci/install-chromium.sh)')
} else {
  t.test('approving in the console', async (t) => {
    const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-console.mjs')], { encoding: 'utf8' })
    t.equal(built.status, 0, `console built ${built.stderr}`)

    const hs = await startHomeserver(t)
    hs.respond((r) => {
      if (r.method === 'PUT' && r.url.includes('/send/m.room.message/')) return { status: 200, body: '{"event_id":"$e"}', headers: { 'Content-Type': 'application/json' } }
      if (r.url === '/_matrix/client/v3/register') return { status: 200, body: JSON.stringify({ user_id: '@ada:localhost', access_token: 't', device_id: 'D' }), headers: { 'Content-Type': 'application/json' } }
      return defaultReply(r)
    })
    const smtp = await startSmtpSink(t)
    const hook = await startWebhookReceiver('whsec', t)
    const rg = await startRegguard(t, hs.url, {
      admin: { token: TOKEN },
      register: { approval: { enabled: true, link: LINK } },
      notify: {
        smtp: { host: smtp.host, port: smtp.port, tls: 'none' },
        matrix: { room_id: '!ops:localhost', access_token: 'bot' },
        webhook: hook.url,
        webhook_secret: 'whsec'
      }
    })
    const message = rg.config.settings.register.approval.message
    t.equal((await requestEmailToken(rg.port, 'ada@lovelace.example', 'a1')).body.error, message)
    t.equal((await requestEmailToken(rg.port, 'eve@elsewhere.example', 'e1')).body.error, message)

    const browser = await chromium.launchPersistentContext(tempDir(t, 'regguard-chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 860 }
    })
    t.teardown(() => browser.close())
    const page = browser.pages()[0] ?? await browser.newPage()
    page.setDefaultTimeout(10_000)
    const problems: string[] = []
    page.on('pageerror', (e) => { problems.push(e.message) })
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()) })

    await page.goto(`${rg.adminUrl}/_regguard/admin/`)
    await page.getByLabel('Admin token').fill(TOKEN)
    await page.getByLabel('Admin token').press('Enter')
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
    await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: 'Access requests' }).click()
    await page.getByRole('heading', { level: 1, name: 'Access requests' }).waitFor()
    await page.locator('#access-requests tbody tr').nth(1).waitFor()
    t.equal(await page.locator('#no-mail').count(), 0, 'SMTP is set: no warning that applicants go untold')
    t.match(await page.locator('#access-requests caption').textContent(), /^2 pending of 2 requests/)

    await page.getByLabel('Your user ID (recorded as the decider)').fill('@op:localhost')
    await page.getByLabel('Select ada@lovelace.example').check()
    await page.getByRole('button', { name: /^Approve 1 selected$/ }).click()
    const approvedLine = page.locator('#decision-results p', { hasText: 'Approved ada@lovelace.example' })
    await approvedLine.waitFor()
    t.match(await approvedLine.textContent(), /invite \d+\); the applicant was mailed\./)

    await page.getByLabel('Select eve@elsewhere.example').check()
    await page.getByLabel('Reason (for a rejection)').fill('unknown to us')
    await page.getByRole('button', { name: /^Reject 1 selected$/ }).click()
    await page.locator('#decision-results p', { hasText: 'Rejected eve@elsewhere.example' }).waitFor()
    await page.locator('#access-requests caption', { hasText: /^0 pending of 2/ }).waitFor()
    t.match(await page.locator('#access-requests tbody tr', { hasText: 'eve@elsewhere.example' }).textContent(), /rejected.*@op:localhost: unknown to us/)
    t.same(problems, [], 'no script errors, no CSP violations')

    const mail = await smtp.waitFor(1)
    t.same(mail.to, ['ada@lovelace.example'])
    t.match(mail.data, LINK)
    t.equal(smtp.mails.length, 1, 'the rejected applicant got no mail')

    // the approved address registers through the gate
    const token = await requestEmailToken(rg.port, 'ada@lovelace.example', 'a2')
    t.equal(token.status, 200)
    const reg = await post(rg.port, '/_matrix/client/v3/register', { username: 'ada', password: 'pw', ...emailStage(token.body.sid as string, 'a2', 's1') })
    t.equal(reg.status, 200)
    // the rejected one gets the ordinary denial, and no new request
    const eve = await requestEmailToken(rg.port, 'eve@elsewhere.example', 'e2')
    t.equal(eve.status, 403)
    t.not(eve.body.error, message)

    const notice = await hook.waitFor(3)
    t.ok(notice.signatureValid, 'a valid signature')
    t.match(notice.json, { event: 'registration', user_id: '@ada:localhost', rule: /\(approval\)$/ })
    t.ok(hook.received.every((r) => r.signatureValid))
    const end = Date.now() + 10_000
    const sends = (): string[] => hs.receivedMatching('/send/m.room.message/').map((r) => JSON.parse(r.body.toString()).body as string)
    while (sends().length < 3 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 50))
    t.match(sends()[2], /New account @ada:localhost registered/)
  })
}
