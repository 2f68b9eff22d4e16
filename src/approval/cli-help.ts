// `regguard requests --help`: in a file of its own, so the CLI's usage (read by every command)
// loads nothing of the command itself.

export const REQUESTS_HELP = {
  summary: 'requests list | approve | reject: access requests (register.approval) in storage.url',
  text: `usage: regguard requests list --config FILE [pending|approved|rejected]
       regguard requests approve --config FILE ID [USER_ID]
       regguard requests reject --config FILE ID [REASON]

Works on the configured store directly; a running regguard sees the result at once.
list: tab-separated, pending first, then newest first: id, status, medium, address, count,
first seen, last seen, client IP, decided by, reason or whether the applicant was told.
approve: makes an invite for the address (source "approval"; USER_ID, the operator's own, is
recorded as its inviter) and mails the applicant when notify.smtp.host is set; prints whether
the applicant was told. reject: the address is not queued again for register.approval.reject_ttl.

${'  --config FILE, -c FILE   the configuration (or REGGUARD_CONFIG); required\n'}
exit: 0 done, 2 usage, configuration or store, 3 an unknown or no longer pending ID

examples:
  regguard requests list --config regguard.yaml pending
  regguard requests approve --config regguard.yaml 12 @alice:example.org
  regguard requests reject --config regguard.yaml 13 "not a member"
`
}
