// One table of every Matrix error regguard answers with. Routes never build error bodies by
// hand: they name an entry here, so the status, errcode and default wording stay in one place
// (and the README's error table is checked against this one by a test).

export interface MatrixErrorSpec {
  readonly status: number
  readonly errcode: string
  readonly error: string
}

export const MATRIX_ERRORS = {
  // Synapse's own answers for malformed requestToken bodies (shared/reference/synapse-3pid-facts.md)
  NOT_JSON: { status: 400, errcode: 'M_NOT_JSON', error: 'Content not JSON.' },
  BAD_JSON: { status: 400, errcode: 'M_BAD_JSON', error: 'Content must be a JSON object.' },
  MISSING_PARAM: { status: 400, errcode: 'M_MISSING_PARAM', error: 'Missing params: []' },
  INVALID_CLIENT_SECRET: { status: 400, errcode: 'M_INVALID_PARAM', error: 'Invalid client_secret parameter' },
  BAD_EMAIL: { status: 400, errcode: 'M_UNKNOWN', error: 'Unable to parse email address' },
  BAD_PHONE: { status: 400, errcode: 'M_INVALID_PARAM', error: 'Unable to parse phone number' },
  // Synapse's wording for each policed endpoint; operators may replace it (register.messages.*)
  EMAIL_DENIED_REGISTER: { status: 403, errcode: 'M_THREEPID_DENIED', error: 'Your email domain is not authorized to register on this server' },
  EMAIL_DENIED_ACCOUNT: { status: 403, errcode: 'M_THREEPID_DENIED', error: 'Your email domain is not authorized on this server' },
  MSISDN_DENIED_REGISTER: { status: 403, errcode: 'M_THREEPID_DENIED', error: 'Phone numbers are not authorized to register on this server' },
  MSISDN_DENIED_ACCOUNT: { status: 403, errcode: 'M_THREEPID_DENIED', error: 'Account phone numbers are not authorized on this server' },
  SESSION_DENIED: { status: 403, errcode: 'M_THREEPID_DENIED', error: 'This email address or phone number was not validated for registration on this server' },
  THREEPID_REQUIRED: { status: 403, errcode: 'M_FORBIDDEN', error: 'Registration on this server requires an email address or phone number' },
  NO_USABLE_FLOW: { status: 403, errcode: 'M_FORBIDDEN', error: 'This server offers no registration flow with an email address or phone number' },
  // Username and requester rules (register.policy.username / .requester): M_INVALID_USERNAME is
  // what Element Web reads as "this name cannot be used" at /register/available (any other
  // error reads as "unable to check, try again later"), and Synapse's own code for a refused name
  USERNAME_DENIED: { status: 400, errcode: 'M_INVALID_USERNAME', error: 'This username is not allowed on this server' },
  USERNAME_REQUIRED: { status: 400, errcode: 'M_MISSING_PARAM', error: 'This server requires a username of your choice' },
  REQUESTER_DENIED: { status: 403, errcode: 'M_FORBIDDEN', error: 'Requests from your network or client are not allowed on this server' },
  // register.policy.threepid.email.mx.on_error: deny. Not M_THREEPID_DENIED, which clients show
  // as final; a 503 with M_UNKNOWN tells the user to retry (Element shows the error text)
  THREEPID_CHECK_UNAVAILABLE: { status: 503, errcode: 'M_UNKNOWN', error: 'The mail servers of this email domain could not be checked right now; try again later' },
  TOO_LARGE: { status: 413, errcode: 'M_TOO_LARGE', error: 'Request body too large' },
  LIMIT_EXCEEDED: { status: 429, errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests' },
  // server.per_client_concurrency: the client's own requests must finish first
  CONCURRENCY_EXCEEDED: { status: 429, errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests in progress from this client' },
  // server.headers_timeout_ms / body_timeout_ms. No Matrix errcode means "timeout"; M_UNKNOWN is
  // the one every client must handle, and the 408 status says what happened.
  REQUEST_TIMEOUT: { status: 408, errcode: 'M_UNKNOWN', error: 'The request was not received in time' },
  // Proxy failures
  UNRECOGNIZED: { status: 400, errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' },
  MALFORMED_HTTP: { status: 400, errcode: 'M_UNRECOGNIZED', error: 'Malformed HTTP request' },
  HEADERS_TOO_LARGE: { status: 431, errcode: 'M_TOO_LARGE', error: 'Request headers too large' },
  // well-formed HTTP that no proxy may forward (e.g. two Host headers): nginx answers 400 too
  NOT_FORWARDABLE: { status: 400, errcode: 'M_UNRECOGNIZED', error: 'The request cannot be forwarded' },
  UPSTREAM_UNREACHABLE: { status: 502, errcode: 'M_UNKNOWN', error: 'The homeserver could not be reached' },
  UPSTREAM_TIMEOUT: { status: 504, errcode: 'M_UNKNOWN', error: 'The homeserver did not answer in time' },
  INTERNAL: { status: 500, errcode: 'M_UNKNOWN', error: 'Internal server error' },
  // a request on a kept-alive connection after shutdown began: answered, then the connection closed
  SHUTTING_DOWN: { status: 503, errcode: 'M_UNKNOWN', error: 'This server is restarting; please try again' },
  // a decision that needs the store (invites, validation sessions) while it cannot answer:
  // refused, nothing forwarded; the client may try again
  STORE_UNAVAILABLE: { status: 503, errcode: 'M_UNKNOWN', error: 'Registration checks are temporarily unavailable on this server; please try again later' },
  // Admin API
  MISSING_TOKEN: { status: 401, errcode: 'M_MISSING_TOKEN', error: 'Missing admin token' },
  UNKNOWN_TOKEN: { status: 401, errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown admin token' },
  NOT_FOUND: { status: 404, errcode: 'M_NOT_FOUND', error: 'Not found' },
  INVALID_PARAM: { status: 400, errcode: 'M_INVALID_PARAM', error: 'Invalid parameter' },
  ADMIN_DISABLED: { status: 404, errcode: 'M_UNRECOGNIZED', error: 'The admin API is off: set admin.token to enable it' },
} as const satisfies Record<string, MatrixErrorSpec>

export type MatrixErrorName = keyof typeof MATRIX_ERRORS

export interface MatrixErrorBody {
  errcode: string
  error: string
  [extra: string]: unknown
}

/** The body and status for a table entry, optionally with another message or extra fields. */
export function matrixError (
  name: MatrixErrorName,
  message?: string | null,
  extra?: Record<string, unknown>
): { status: number, body: MatrixErrorBody } {
  const spec = MATRIX_ERRORS[name]
  return { status: spec.status, body: { errcode: spec.errcode, error: message ?? spec.error, ...extra } }
}

/** Synapse's assert_params_in_dict wording: the Python repr of the list of absent keys. */
export function missingParamsMessage (absent: readonly string[]): string {
  return `Missing params: [${absent.map((k) => `'${k}'`).join(', ')}]`
}
