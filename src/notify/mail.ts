import type { NotifySettings } from './settings.js'

// notify.smtp: the one mail regguard sends, to an approved applicant. One connection a mail:
// approvals are rare, and a kept connection would be one more thing to watch. nodemailer is
// loaded by the first mail: serve and the other commands never pay for it otherwise.

export function smtpConfigured (smtp: NotifySettings['smtp']): boolean {
  return smtp.host !== ''
}

export interface Mail { to: string, subject: string, text: string }

export async function sendMail (smtp: NotifySettings['smtp'], mail: Mail): Promise<void> {
  const { createTransport } = await import('nodemailer')
  const transport = createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.tls === 'tls',
    requireTLS: smtp.tls === 'starttls',
    ignoreTLS: smtp.tls === 'none',
    ...(smtp.user !== '' ? { auth: { user: smtp.user, pass: smtp.password } } : {}),
    connectionTimeout: smtp.timeout_ms,
    greetingTimeout: smtp.timeout_ms,
    socketTimeout: smtp.timeout_ms
  })
  try {
    await transport.sendMail({ from: smtp.from, to: mail.to, subject: mail.subject, text: mail.text })
  } finally {
    transport.close()
  }
}
