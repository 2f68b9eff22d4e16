import type { Branch } from '../config/schema.js'

// register.approval.*: asking to join (docs/approval.md). The keys live here, beside the code
// that reads them; src/config/schema.ts mounts the branch.

export interface ApprovalSettings {
  enabled: boolean
  message: string
  /** milliseconds */
  ttl: number
  /** milliseconds */
  reject_ttl: number
  per_ip_per_hour: number
  per_hour: number
  approved_subject: string
  approved_text: string
  link: string
}

export function approvalBranch (): Branch {
  return {
    enabled: { doc: 'Access requests: a requestToken for registration that only the default rule denies (never a blacklist, a requester rule or a rate limit) records a request to join for an operator to approve (an invite is made) or reject (docs/approval.md).', format: 'boolean', default: false },
    message: { doc: 'The error text (403 M_THREEPID_DENIED) of a recorded access request.', format: String, default: 'Your request to join has been received; you will get an email once it is approved.' },
    ttl: { doc: 'How long a request stays pending before it expires (then the address may ask again): milliseconds, or e.g. "14 days".', format: 'positive-duration', default: 1209600000, sampleValue: '14 days' },
    reject_ttl: { doc: 'How long a rejected address is not queued again (it gets the ordinary denial): milliseconds, or e.g. "30 days". Decided requests are deleted after it.', format: 'positive-duration', default: 2592000000, sampleValue: '30 days' },
    per_ip_per_hour: { doc: 'New requests one client IP (IPv6 by its register.rate_limit.ipv6_prefix network) may make per hour; past it the ordinary denial, nothing recorded (0: none).', format: 'nat', default: 5 },
    per_hour: { doc: 'New requests recorded per hour in all; past it the ordinary denial (0: none). Counted where register.rate_limit counts (memory, the store or Redis).', format: 'nat', default: 100 },
    approved_subject: { doc: 'Subject of the mail an approved applicant gets (needs notify.smtp.host).', format: String, default: 'Your request to join was approved' },
    approved_text: { doc: 'Text of that mail; register.approval.link follows it on a line of its own.', format: String, default: 'Your request to join has been approved. You can now register with this email address.' },
    link: { doc: 'Where the applicant registers (e.g. the operator\'s Element sign-up URL), put in the mail. Empty: no link.', format: String, default: '' }
  }
}
