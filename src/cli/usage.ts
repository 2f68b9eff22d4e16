// Each command's own help (`regguard COMMAND --help`, `regguard help COMMAND`) and the overview
// (`regguard help`). docs/cli.md says the same; test/cli/help.test.ts checks that every command
// has its text and that every text has an example.

export interface CommandHelp {
  /** One line for the overview */
  summary: string
  /** The usage lines, the options, an example */
  text: string
}

import { REQUESTS_HELP } from '../approval/cli-help.js'
import { MAS_HELP } from '../mas/cli-help.js'

const CONFIG = '  --config FILE, -c FILE   the configuration (or REGGUARD_CONFIG); required\n'

export const HELP: Record<string, CommandHelp> = {
  serve: {
    summary: 'run the gate and the admin listener (the default command)',
    text: `usage: regguard [serve] --config FILE

Runs the gate (server.host:server.port) in front of homeserver.url, and the admin listener
(admin.host:admin.port: health, metrics, admin API, console) until SIGTERM or SIGINT; SIGHUP
re-reads the configuration and list files.

${CONFIG}
example:
  regguard serve --config /etc/regguard/regguard.yaml
`
  },
  'check-config': {
    summary: 'validate a configuration; exit 0 when valid, 2 when not',
    text: `usage: regguard check-config --config FILE

Reads and validates the configuration (list files and patterns included) as serve would, and
prints one line. Invalid: the reason on stderr (the key, or the YAML line), exit 2.

${CONFIG}
example:
  regguard check-config --config regguard.yaml
`
  },
  policy: {
    summary: 'policy check: the decision regguard would make, and the rule; exit 0 allow, 1 deny',
    text: `usage: regguard policy check --config FILE [--no-dns] email ADDRESS
       regguard policy check --config FILE msisdn NUMBER
       regguard policy check --config FILE username NAME
       regguard policy check --config FILE [--ip ADDR] [--user-agent UA] [email ADDRESS | msisdn NUMBER]

Prints "allow" or "deny", the canonical address and the rule that decided, naming the entry as the
configuration writes it and the file or URL it came from. Live lists are read from
lists.cache_dir (nothing is fetched); pending invites from storage.url.

${CONFIG}  --no-dns                 skip the mail-server rules (register.policy.threepid.email.mx)
  --ip ADDR, --user-agent UA  judge a requester first (register.policy.requester)

exit: 0 allow, 1 deny, 2 usage or configuration, 3 an address that cannot be parsed

example:
  regguard policy check --config regguard.yaml email someone@sub.example.org
`
  },
  export: {
    summary: 'export mas-policy: print the policy as MAS policy.data (YAML)',
    text: `usage: regguard export mas-policy --config FILE

Prints the policy as Matrix Authentication Service policy.data (YAML), with a comment for
everything MAS cannot express.

${CONFIG}
example:
  regguard export mas-policy --config regguard.yaml > policy-data.yaml
`
  },
  lists: {
    summary: 'lists status | refresh: the live lists in lists.cache_dir',
    text: `usage: regguard lists status --config FILE
       regguard lists refresh --config FILE

status: each live list (register.policy.threepid.email.domain.*_urls): source, cached entries,
last fetch, last error. refresh: fetch them into lists.cache_dir now (a running regguard reads
them at its next refresh or SIGHUP).

${CONFIG}
exit: 0 done, 2 usage or configuration, 3 a list could not be fetched or written

example:
  regguard lists refresh --config regguard.yaml
`
  },
  config: {
    summary: 'config sample: print every key with its meaning and default',
    text: `usage: regguard config sample

Prints the full sample configuration, generated from the schema (config/regguard.example.yaml).

example:
  regguard config sample > regguard.full.yaml
`
  },
  invites: {
    summary: 'invites add | list | revoke | import: pending 3PID invites in storage.url',
    text: `usage: regguard invites add --config FILE email ADDRESS | msisdn NUMBER
       regguard invites list --config FILE [--medium M [--address A]] [--inviter U] [--limit N] [--from TOKEN]
       regguard invites revoke --config FILE ID
       regguard invites revoke --config FILE --inviter USER_ID
       regguard invites import --config FILE FILE.csv

Works on the configured store directly; a running regguard sees the result at once.
add: an address already invited (pending) is not added twice ("already invited", exit 0).
list: tab-separated, oldest first; "more: --from TOKEN" on stderr when there is another page.
revoke: an unknown or already revoked ID exits 3. --inviter revokes every pending invite of one user.
import: one "medium,address" a line ("email" or "msisdn"); a first line "medium,address" is a
header; "#" comments and blank lines skipped; all or nothing.

${CONFIG}  --medium email|msisdn, --address A, --inviter @user:server, --limit 1..1000, --from TOKEN

exit: 0 done, 2 usage, configuration or store, 3 an invalid address, a bad file, an unknown ID

examples:
  regguard invites add --config regguard.yaml email alice@example.org
  regguard invites list --config regguard.yaml --medium email --address alice@example.org
`
  },
  requests: REQUESTS_HELP,
  mas: MAS_HELP
}

/** The usage lines of one command's text */
function usageLines (text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('usage: ') || l.startsWith('       regguard')).map((l) => '  ' + l.replace(/^usage: |^ {7}/, ''))
}

export function overview (): string {
  const width = Math.max(...Object.keys(HELP).map((k) => k.length))
  const summaries = Object.entries(HELP).map(([name, h]) => `  ${name.padEnd(width)}  ${h.summary}`)
  const usages = Object.values(HELP).flatMap((h) => usageLines(h.text))
  return `usage:
${usages.join('\n')}
  regguard help [COMMAND]     this text, or one command's usage with an example (= COMMAND --help)
  regguard --version

commands:
${summaries.join('\n')}

--config FILE may also come from REGGUARD_CONFIG.
exit status: 0 success or allow, 1 deny (policy check), 2 usage, configuration or store,
3 rejected input, not found, or another failure. Details: docs/cli.md
`
}
