import { python } from './python.js'

// Twisted itself (python3-twisted 22.4, Debian's /usr/bin/python3) as the judge of request
// arguments: every request becomes a real twisted.web.http.Request on a dummy channel, its
// headers and body set as HTTPChannel sets them, and requestReceived builds request.args.
// Synapse's own additions are written out from its source: SynapseRequest refuses a POST whose
// first Content-Type contains multipart/form-data (synapse/http/site.py),
// get_access_token_from_request (synapse/api/auth/base.py) reads the token, parse_string
// (synapse/http/servlet.py) reads `kind` (first value, ASCII or a 400).
// Bytes travel as latin1 strings (one char per byte) both ways. All requests in one process.

export interface OracleRequest { method: string, target: string, headers: Array<[string, string]>, body: string }

export type OracleToken =
  | { ok: true, token: string, from: 'header' | 'args' }
  | { ok: false, why: 'missing' | 'mixed' | 'too-many-headers' | 'invalid-header' | 'not-ascii' }

export type OracleOutcome =
  | { refused: true }
  | {
    refused: false
    /** request.args in dict order */
    args: Array<[string, string[]]>
    token: OracleToken
    /** parse_string(request, "kind", default="user"), or 400 when its first value is not ASCII */
    kind: string | 400
  }

const ORACLE = String.raw`
import json, sys, warnings
warnings.simplefilter('ignore')
from io import BytesIO
from twisted.web import http
from twisted.web.test.requesthelper import DummyChannel

def b(s): return s.encode('latin1')
def s(x): return x.decode('latin1')

class SynapseLikeRequest(http.Request):
    # synapse.http.site.SynapseRequest.requestReceived, the part that matters here
    refused = False
    def requestReceived(self, command, path, version):
        if command == b"POST":
            ctype = self.requestHeaders.getRawHeaders(b"content-type")
            if ctype and b"multipart/form-data" in ctype[0]:
                self.refused = True
                return
        return super().requestReceived(command, path, version)

def access_token(request):
    # synapse.api.auth.base.BaseAuth.get_access_token_from_request, its errors named
    auth_headers = request.requestHeaders.getRawHeaders(b"Authorization")
    query_params = request.args.get(b"access_token")
    try:
        if auth_headers:
            if query_params is not None:
                return {"ok": False, "why": "mixed"}
            if len(auth_headers) > 1:
                return {"ok": False, "why": "too-many-headers"}
            parts = auth_headers[0].split(b" ")
            if parts[0] == b"Bearer" and len(parts) == 2:
                return {"ok": True, "token": parts[1].decode("ascii"), "from": "header"}
            return {"ok": False, "why": "invalid-header"}
        if not query_params:
            return {"ok": False, "why": "missing"}
        return {"ok": True, "token": query_params[0].decode("ascii"), "from": "args"}
    except UnicodeDecodeError:
        return {"ok": False, "why": "not-ascii"}

def parse_kind(request):
    # synapse.http.servlet.parse_string(request, "kind", default="user")
    if b"kind" not in request.args:
        return "user"
    try:
        return request.args[b"kind"][0].decode("ascii")
    except UnicodeDecodeError:
        return 400

out = []
for case in json.load(sys.stdin):
    req = SynapseLikeRequest(DummyChannel())
    for name, value in case["headers"]:
        # HTTPChannel.headerReceived: lower-cased name, values appended in order
        req.requestHeaders.addRawHeader(b(name).lower(), b(value))
    req.content = BytesIO()
    req.content.write(b(case["body"]))
    req.requestReceived(b(case["method"]), b(case["target"]), b"HTTP/1.1")
    if req.refused:
        out.append({"refused": True})
        continue
    args = [[s(k), [s(v) for v in vs]] for k, vs in req.args.items()]
    out.append({"refused": False, "args": args, "token": access_token(req), "kind": parse_kind(req)})
json.dump(out, sys.stdout)
`

/** What Twisted and Synapse make of each request, in one python process. */
export function twistedReads (requests: OracleRequest[]): OracleOutcome[] {
  return python<OracleOutcome[]>(ORACLE, requests)
}
