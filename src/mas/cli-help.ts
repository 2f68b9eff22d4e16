// `regguard mas --help` (src/cli/usage.ts lists it with the other commands)

export const MAS_HELP = {
  summary: 'mas push: send the policy to the Matrix Authentication Service (mas.*) as its policy data',
  text: `usage: regguard mas push --config FILE

Sends the register policy to MAS (mas.url) as policy data now, whatever was sent before: the
token by client_credentials with the scope urn:mas:admin, then POST /api/admin/v1/policy-data.
Live lists go as their copies in lists.cache_dir (regguard lists refresh fetches them). What MAS
cannot express is printed on stderr ("NOT EXPORTED: ..."). The push is recorded in
mas.state_file, so a running regguard does not send the same document again. docs/mas.md.

${'  --config FILE, -c FILE   the configuration (or REGGUARD_CONFIG); required\n'}
exit: 0 pushed, 2 usage, configuration, or MAS not reached (a refused token included),
3 MAS refused the data (400; it keeps the data it had)

example:
  regguard mas push --config regguard.yaml
`
}
