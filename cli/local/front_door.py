"""The local AWS's front door: only the credentials of the user who started it get in.

moto accepts any credentials, and whatever can call it can create a Lambda
function that the local AWS then runs as a host process with this user's
privileges. So every request is checked before moto sees it: the `Host` must
be the loopback address it listens on (no DNS rebinding from a web page), and
the request must carry the owner's access key id and session token (SigV4's
`Credential=` and `X-Amz-Security-Token`, in headers or a presigned URL's
query), or a key and token that this local AWS's STS issued (an assumed role:
the Lambda functions' target role). Both are random per start and kept in the
0600 state file; the signature itself is not recomputed, the token is the
secret that opens the door. Anything else gets 403 `UnrecognizedClientException`.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import string
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")
_KEY_ALPHABET = string.ascii_uppercase + "234567"


def new_credentials() -> dict[str, str]:
    """Random credentials for one local AWS, as the environment variables SDKs read."""
    return {
        "AWS_ACCESS_KEY_ID": "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)),
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
        "AWS_SESSION_TOKEN": secrets.token_urlsafe(48),
    }


class FrontDoor:
    """WSGI middleware in front of moto; ``refused`` counts the requests turned away."""

    def __init__(self, app: Callable[..., Any], credentials: dict[str, str], hosts: set[str]):
        self.app = app
        self.key_id = credentials["AWS_ACCESS_KEY_ID"]
        self.token = credentials["AWS_SESSION_TOKEN"]
        self.hosts = hosts
        self.refused = 0
        self._lock = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        problem = self.problem(environ)
        if problem is None:
            return self.app(environ, start_response)
        with self._lock:
            self.refused += 1
        body = json.dumps(
            {"__type": "UnrecognizedClientException", "message": f"itest local AWS: {problem}"}
        ).encode()
        start_response(
            "403 Forbidden",
            [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("Content-Length", str(len(body))),
                ("x-amzn-ErrorType", "UnrecognizedClientException"),
            ],
        )
        return [body]

    def problem(self, environ: dict[str, Any]) -> str | None:
        """Why a request is refused, or None to let it in."""
        host = environ.get("HTTP_HOST", "")
        if host not in self.hosts:
            return f"Host {host!r} is not this local AWS (only {sorted(self.hosts)})"
        query = parse_qs(environ.get("QUERY_STRING", ""))
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        found = _CREDENTIAL.search(authorization) or _CREDENTIAL.search(
            "Credential=" + (query.get("X-Amz-Credential") or [""])[0]
        )
        token = (
            environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
            or (query.get("X-Amz-Security-Token") or [""])[0]
        )
        if found is None or not token:
            return (
                "unsigned request, or no session token: use the credentials "
                "`itest local status --format json` prints"
            )
        key_id = found.group(1)
        if key_id == self.key_id and hmac.compare_digest(token, self.token):
            return None
        if _issued_here(key_id, token):
            return None
        return f"the access key {key_id} and its session token are not this local AWS's"


def _issued_here(key_id: str, token: str) -> bool:
    """Credentials this local AWS's STS handed out (AssumeRole), with their own token."""
    from moto.sts.models import sts_backends

    for account_id in list(sts_backends.keys()):
        for backend in list(sts_backends[account_id].values()):
            role = backend.get_assumed_role_from_access_key(key_id)
            if role is not None:
                return hmac.compare_digest(role.session_token, token)
    return False
