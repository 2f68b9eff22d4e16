# Copyright regguard contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE beside pyproject.toml).

"""The module against a real HTTP server on loopback playing regguard's admin listener.

Run with Synapse's source on PYTHONPATH: python3 -m twisted.trial tests (from synapse-module/).
Synapse's ModuleApi needs a whole homeserver; here its two parts the module uses are stood in
for: http_client is a treq client with SimpleHttpClient.post_json_get_json's contract (JSON
body, headers, an exception with .code on a non-2xx, ValueError on bad JSON), and
register_spam_checker_callbacks keeps what it is given. The e2e test
(test/e2e/synapse-module.test.ts) runs the module inside the real Synapse 1.67.
"""

import json
import time

import treq
from twisted.internet import defer, reactor
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from synapse.module_api import NOT_SPAM
from synapse.module_api.errors import Codes, ConfigError
from synapse.spam_checker_api import RegistrationBehaviour

from regguard_synapse import INVITE_PATH, REGISTRATION_PATH, RegguardSpamChecker


class HttpError(Exception):
    def __init__(self, code, body):
        super().__init__("HTTP %d" % code)
        self.code = code
        self.body = body


class JsonClient:
    def __init__(self, pool):
        self._pool = pool

    async def post_json_get_json(self, uri, post_json, headers=None):
        h = Headers({b"Content-Type": [b"application/json"]})
        for name, values in (headers or {}).items():
            h.setRawHeaders(name, values)
        response = await treq.post(uri, data=json.dumps(post_json).encode("utf-8"), headers=h, pool=self._pool)
        body = await treq.content(response)
        if not 200 <= response.code < 300:
            raise HttpError(response.code, body)
        return json.loads(body.decode("utf-8"))


class Api:
    def __init__(self, pool):
        self.http_client = JsonClient(pool)
        self.callbacks = {}

    def register_spam_checker_callbacks(self, **callbacks):
        self.callbacks.update(callbacks)


class Regguard(Resource):
    """Answers every POST with the next scripted answer: (status, body bytes) or "hang"."""

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.answers = []
        self.seen = []
        self.hanging = []

    def render_POST(self, request):
        self.seen.append({
            "path": request.path.decode(),
            "authorization": request.getHeader("authorization"),
            "body": json.loads(request.content.read().decode("utf-8")),
        })
        answer = self.answers.pop(0) if self.answers else (200, b'{"allow": true}')
        if answer == "hang":
            self.hanging.append(request)
            return NOT_DONE_YET
        status, body = answer
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json")
        return body


class ModuleTest(unittest.TestCase):
    def setUp(self):
        self.regguard = Regguard()
        self.port = reactor.listenTCP(0, Site(self.regguard), interface="127.0.0.1")
        self.url = "http://127.0.0.1:%d" % self.port.getHost().port
        self.pool = HTTPConnectionPool(reactor, persistent=False)

    @defer.inlineCallbacks
    def tearDown(self):
        for request in self.regguard.hanging:
            if not request.finished and request.channel is not None:
                request.channel.transport.abortConnection()
        yield self.pool.closeCachedConnections()
        yield self.port.stopListening()

    def module(self, **config):
        api = Api(self.pool)
        checker = RegguardSpamChecker(RegguardSpamChecker.parse_config({"url": self.url, **config}), api)
        return checker, api

    def register(self, checker, email="a@example.org", username="alice", info=(("Mozilla/5.0", "198.51.100.7"),), provider=None):
        threepid = None if email is None else {"medium": "email", "address": email, "validated_at": 1}
        return defer.ensureDeferred(checker.check_registration_for_spam(threepid, username, list(info), provider))

    def invite(self, checker, address="friend@example.org"):
        return defer.ensureDeferred(checker.user_may_send_3pid_invite("@alice:localhost", "email", address, "!room:localhost"))

    # configuration

    def test_config_defaults_and_errors(self):
        c = RegguardSpamChecker.parse_config({"url": "http://127.0.0.1:8091/"})
        self.assertEqual((c.url, c.token, c.timeout, c.on_error, c.check_registrations, c.check_invites), ("http://127.0.0.1:8091", "", 10.0, "deny", True, True))
        for bad in (
            {},
            {"url": "ftp://x"},
            {"url": "http://x?y=1"},
            {"url": "http://x", "on_error": "maybe"},
            {"url": "http://x", "timeout": 0},
            {"url": "http://x", "timeout": "5"},
            {"url": "http://x", "token": "a b"},
            {"url": "http://x", "check_invites": "no"},
            {"url": "http://x", "urll": "typo"},
        ):
            self.assertRaises(ConfigError, RegguardSpamChecker.parse_config, bad)

    def test_registers_the_callbacks_asked_for(self):
        _, both = self.module()
        self.assertEqual(sorted(both.callbacks), ["check_registration_for_spam", "user_may_send_3pid_invite"])
        _, one = self.module(check_invites=False)
        self.assertEqual(sorted(one.callbacks), ["check_registration_for_spam"])

    # registrations

    @defer.inlineCallbacks
    def test_registration_asks_regguard_with_everything_synapse_gives(self):
        checker, _ = self.module(token="s3cret")
        info = [("Mozilla/5.0", "198.51.100.7"), ("Mozilla/5.0", "198.51.100.7"), ("curl/8", "203.0.113.1")]
        result = yield self.register(checker, info=info, provider="oidc-corp")
        self.assertIs(result, RegistrationBehaviour.ALLOW)
        [seen] = self.regguard.seen
        self.assertEqual(seen["path"], REGISTRATION_PATH)
        self.assertEqual(seen["authorization"], "Bearer s3cret")
        self.assertEqual(seen["body"], {
            "email": "a@example.org",
            "username": "alice",
            "request_info": [["Mozilla/5.0", "198.51.100.7"], ["curl/8", "203.0.113.1"]],
            "auth_provider_id": "oidc-corp",
        })

    @defer.inlineCallbacks
    def test_registration_without_email_or_token(self):
        checker, _ = self.module()
        result = yield self.register(checker, email=None, username=None, info=())
        self.assertIs(result, RegistrationBehaviour.ALLOW)
        [seen] = self.regguard.seen
        self.assertIsNone(seen["authorization"])
        self.assertEqual(seen["body"], {"email": None, "username": None, "request_info": [], "auth_provider_id": None})

    @defer.inlineCallbacks
    def test_registration_denied(self):
        checker, _ = self.module()
        self.regguard.answers.append((200, b'{"allow": false, "rule": "blacklist", "detail": "domain example.org"}'))
        result = yield self.register(checker)
        self.assertIs(result, RegistrationBehaviour.DENY)

    @defer.inlineCallbacks
    def test_registration_errors_deny_by_default(self):
        checker, _ = self.module()
        for answer in ((503, b'{"errcode": "M_UNKNOWN"}'), (200, b"not json"), (200, b'{"allow": "yes"}'), (200, b"[true]"), (401, b"{}")):
            self.regguard.answers.append(answer)
            result = yield self.register(checker)
            self.assertIs(result, RegistrationBehaviour.DENY, answer)

    @defer.inlineCallbacks
    def test_registration_errors_allow_with_on_error_allow(self):
        checker, _ = self.module(on_error="allow")
        self.regguard.answers.append((500, b"{}"))
        result = yield self.register(checker)
        self.assertIs(result, RegistrationBehaviour.ALLOW)
        self.regguard.answers.append((200, b'{"allow": false}'))
        result = yield self.register(checker)
        self.assertIs(result, RegistrationBehaviour.DENY, "on_error does not overrule an answer")

    @defer.inlineCallbacks
    def test_timeout(self):
        checker, _ = self.module(timeout=0.3)
        self.regguard.answers.append("hang")
        start = time.monotonic()
        result = yield self.register(checker)
        self.assertIs(result, RegistrationBehaviour.DENY)
        self.assertLess(time.monotonic() - start, 5)
        allowing, _ = self.module(timeout=0.3, on_error="allow")
        self.regguard.answers.append("hang")
        result = yield self.register(allowing)
        self.assertIs(result, RegistrationBehaviour.ALLOW)

    @defer.inlineCallbacks
    def test_regguard_down(self):
        yield self.port.stopListening()
        self.port = reactor.listenTCP(0, Site(Resource()), interface="127.0.0.1")
        closed = reactor.listenTCP(0, Site(Resource()), interface="127.0.0.1")
        url = "http://127.0.0.1:%d" % closed.getHost().port
        yield closed.stopListening()
        api = Api(self.pool)
        checker = RegguardSpamChecker(RegguardSpamChecker.parse_config({"url": url}), api)
        self.assertIs((yield self.register(checker)), RegistrationBehaviour.DENY)
        self.assertIs((yield self.invite(checker)), Codes.FORBIDDEN)
        lenient = RegguardSpamChecker(RegguardSpamChecker.parse_config({"url": url, "on_error": "allow"}), api)
        self.assertIs((yield self.register(lenient)), RegistrationBehaviour.ALLOW)
        self.assertEqual((yield self.invite(lenient)), NOT_SPAM)

    # invites

    @defer.inlineCallbacks
    def test_invite_allowed_and_denied(self):
        checker, _ = self.module(token="t")
        self.assertEqual((yield self.invite(checker)), NOT_SPAM)
        [seen] = self.regguard.seen
        self.assertEqual(seen["path"], INVITE_PATH)
        self.assertEqual(seen["authorization"], "Bearer t")
        self.assertEqual(seen["body"], {"inviter": "@alice:localhost", "medium": "email", "address": "friend@example.org", "room_id": "!room:localhost"})
        self.regguard.answers.append((200, b'{"allow": false, "rule": "blacklist"}'))
        self.assertIs((yield self.invite(checker)), Codes.FORBIDDEN)
        self.regguard.answers.append((500, b"{}"))
        self.assertIs((yield self.invite(checker)), Codes.FORBIDDEN)
