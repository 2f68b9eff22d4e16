import { createHmac } from 'node:crypto'

// notify.webhook: each notice POSTed as JSON. The receiver checks X-Regguard-Signature, the
// HMAC-SHA256 of the exact body bytes under notify.webhook_secret, as "sha256=<hex>".

export const SIGNATURE_HEADER = 'X-Regguard-Signature'

export function signature (secret: string, body: Buffer | string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex')
}

/** Resolves when the receiver answered 2xx; rejects otherwise (the queue retries). */
export async function postWebhook (url: string, secret: string, body: string, timeoutMs: number, stop?: AbortSignal): Promise<void> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'regguard' }
  if (secret !== '') headers[SIGNATURE_HEADER] = signature(secret, body)
  const res = await fetch(url, { method: 'POST', headers, body, signal: stop === undefined ? AbortSignal.timeout(timeoutMs) : AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]), redirect: 'error' })
  // the answer is not needed: drained so the connection is reused
  await res.body?.cancel()
  if (res.status < 200 || res.status > 299) throw new Error(`webhook answered ${res.status}`)
}
