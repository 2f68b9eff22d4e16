# Copyright regguard contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE beside pyproject.toml).

"""Asks regguard, from inside Synapse, whether a registration or a 3PID invite may go ahead.

Synapse calls check_registration_for_spam for every registration it makes (the client API, SSO,
the admin API, shared-secret registration) and user_may_send_3pid_invite before it makes a 3PID
invite for an address its identity server knows no account for. Both are answered by regguard's
admin listener (src/admin/synapse-module.ts in the regguard repository). Whatever keeps an
answer from arriving (regguard down, a timeout, a non-2xx, an answer that is not one) is decided
by on_error, "deny" unless configured otherwise: a gate that opens when it breaks is no gate.
"""

import logging
from typing import Any, Collection, Dict, List, Optional, Tuple, Union
from urllib.parse import urlsplit

from twisted.internet import defer, reactor
from twisted.internet.error import ConnectError
from twisted.web.client import ResponseFailed

from synapse.module_api import NOT_SPAM, ModuleApi, make_deferred_yieldable, run_in_background
from synapse.module_api.errors import Codes, ConfigError
from synapse.spam_checker_api import RegistrationBehaviour

__version__ = "0.1.0"

logger = logging.getLogger(__name__)

REGISTRATION_PATH = "/_regguard/v1/synapse_module/check_registration"
INVITE_PATH = "/_regguard/v1/synapse_module/check_3pid_invite"

DEFAULT_TIMEOUT_S = 10.0

# Failures of the call itself: logged without a traceback. Anything else is logged with one,
# since it may be a fault of this module, but still decided by on_error.
_EXPECTED = (defer.CancelledError, ConnectError, ConnectionError, ResponseFailed, ValueError)


class RegguardConfig:
    def __init__(self, url: str, token: str, timeout: float, on_error: str, check_registrations: bool, check_invites: bool):
        self.url = url
        self.token = token
        self.timeout = timeout
        self.on_error = on_error
        self.check_registrations = check_registrations
        self.check_invites = check_invites


def _parse(config: Dict[str, Any]) -> RegguardConfig:
    if not isinstance(config, dict):
        raise ConfigError("regguard_synapse: the module's config must be a mapping")
    known = {"url", "token", "timeout", "on_error", "check_registrations", "check_invites"}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ConfigError("regguard_synapse: unknown keys %s (known: %s)" % (unknown, sorted(known)))
    url = config.get("url")
    if not isinstance(url, str) or url == "":
        raise ConfigError("regguard_synapse: url (regguard's admin listener, e.g. http://127.0.0.1:8091) is required")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError("regguard_synapse: url must be an http:// or https:// URL without a query, got %r" % (url,))
    token = config.get("token", "")
    if token is None:
        token = ""
    if not isinstance(token, str) or any(c.isspace() for c in token):
        raise ConfigError("regguard_synapse: token must be a string without spaces (regguard's admin.synapse_module_token)")
    timeout = config.get("timeout", DEFAULT_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 60:
        raise ConfigError("regguard_synapse: timeout is in seconds, more than 0 and at most 60 (Synapse's own HTTP limit)")
    on_error = config.get("on_error", "deny")
    if on_error not in ("deny", "allow"):
        raise ConfigError('regguard_synapse: on_error must be "deny" or "allow", got %r' % (on_error,))
    flags = {}
    for key in ("check_registrations", "check_invites"):
        value = config.get(key, True)
        if not isinstance(value, bool):
            raise ConfigError("regguard_synapse: %s must be true or false" % key)
        flags[key] = value
    return RegguardConfig(url.rstrip("/"), token, float(timeout), on_error, flags["check_registrations"], flags["check_invites"])


class RegguardSpamChecker:
    """modules: - module: regguard_synapse.RegguardSpamChecker, config: {url, token, timeout, on_error}"""

    def __init__(self, config: RegguardConfig, api: ModuleApi):
        self._config = config
        self._http = api.http_client
        self._headers = {b"Authorization": [b"Bearer " + config.token.encode("utf-8")]} if config.token else None
        callbacks = {}
        if config.check_registrations:
            callbacks["check_registration_for_spam"] = self.check_registration_for_spam
        if config.check_invites:
            callbacks["user_may_send_3pid_invite"] = self.user_may_send_3pid_invite
        api.register_spam_checker_callbacks(**callbacks)

    @staticmethod
    def parse_config(config: Dict[str, Any]) -> RegguardConfig:
        return _parse(config)

    async def _ask(self, path: str, body: Dict[str, Any]) -> Optional[bool]:
        """regguard's verdict, or None when no usable answer came (on_error then decides)."""
        d = run_in_background(self._http.post_json_get_json, self._config.url + path, body, self._headers)
        # Synapse's client waits up to 60 s for headers and without limit for the body: the
        # whole call is bounded here (cancelling it closes its connection)
        timed_out = []

        def give_up() -> None:
            timed_out.append(True)
            d.cancel()

        timer = reactor.callLater(self._config.timeout, give_up)
        try:
            answer = await make_deferred_yieldable(d)
        except Exception as e:  # every way the call can fail is decided by on_error, and logged
            if timed_out:
                logger.warning("regguard did not answer %s within %s s; on_error %s applies", path, self._config.timeout, self._config.on_error)
            else:
                logger.warning(
                    "regguard did not answer %s (%s: %s); on_error %s applies",
                    path, type(e).__name__, e, self._config.on_error,
                    exc_info=not isinstance(e, _EXPECTED) and not hasattr(e, "code"),
                )
            return None
        finally:
            if timer.active():
                timer.cancel()
        if not isinstance(answer, dict) or not isinstance(answer.get("allow"), bool):
            logger.warning("regguard's answer to %s is not {\"allow\": true|false}; on_error %s applies", path, self._config.on_error)
            return None
        if not answer["allow"]:
            logger.info("regguard denied %s: %s %s", path, str(answer.get("rule"))[:256], str(answer.get("detail"))[:256])
        return answer["allow"]

    def _verdict(self, allow: Optional[bool]) -> bool:
        return self._config.on_error == "allow" if allow is None else allow

    async def check_registration_for_spam(
        self,
        email_threepid: Optional[dict],
        username: Optional[str],
        request_info: Collection[Tuple[str, str]],
        auth_provider_id: Optional[str] = None,
    ) -> RegistrationBehaviour:
        email = None
        if isinstance(email_threepid, dict) and email_threepid.get("medium") == "email":
            email = email_threepid.get("address")
        pairs: List[List[str]] = []
        seen = set()
        for ua, ip in request_info:
            pair = ("" if ua is None else str(ua), "" if ip is None else str(ip))
            if pair not in seen:
                seen.add(pair)
                pairs.append(list(pair))
        body = {"email": email, "username": username, "request_info": pairs, "auth_provider_id": auth_provider_id}
        allowed = self._verdict(await self._ask(REGISTRATION_PATH, body))
        return RegistrationBehaviour.ALLOW if allowed else RegistrationBehaviour.DENY

    async def user_may_send_3pid_invite(self, inviter: str, medium: str, address: str, room_id: str) -> Union[str, Codes]:
        body = {"inviter": inviter, "medium": medium, "address": address, "room_id": room_id}
        allowed = self._verdict(await self._ask(INVITE_PATH, body))
        return NOT_SPAM if allowed else Codes.FORBIDDEN
