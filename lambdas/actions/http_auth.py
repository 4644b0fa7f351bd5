"""``http``'s ``auth``: SigV4 with the credentials target calls use (the target role), or Basic.

SigV4 is botocore's ``SigV4Auth`` (no new dependency), applied as a requests
auth hook so that it signs the request exactly as it is sent (the body, the
query string, the Host with its port). What a request carried to prove who it
is (the Authorization header, the session token) is masked in the result like a
secret, since an echoing service gives it back; a redirect to another origin
carries none of it (``redirect_guard`` in the http action).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from itest.lambdas.errors import ActionError
from itest.lambdas.expressions import find_templates, has_template
from itest.lambdas.validation import Loc, Strict
from pydantic import Field, model_validator

if TYPE_CHECKING:
    import requests

SIGNING_HEADERS = ("X-Amz-Date", "X-Amz-Security-Token")
"""SigV4's headers besides Authorization (which requests drops itself on a new host)."""


class SigV4(Strict):
    """Sign with the target role's credentials, as every ``aws.*`` call (API Gateway IAM
    auth, function URLs)."""

    service: str = Field(min_length=1, description="signing name: execute-api, lambda, ...")
    region: str | None = Field(default=None, description="default: the Action's region")


class Basic(Strict):
    """``Authorization: Basic``; the password comes from ``secrets``."""

    username: str
    password: str = Field(description="{{ secret.<name> }}: a literal would be stored in plain")


class HttpAuth(Strict):
    """One of ``sigv4`` or ``basic``."""

    sigv4: SigV4 | None = None
    basic: Basic | None = None

    @model_validator(mode="after")
    def _one(self) -> HttpAuth:
        given = [name for name in ("sigv4", "basic") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give one of sigv4 or basic, not {' and '.join(given) or 'none'}")
        return self


def check(params: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Offline: a Basic password must be a secret (``{{ secret.x }}``), never the text
    itself, which would sit in the scenario, the bucket and the execution input.
    (And one kind of auth, which the model cannot tell while a value is a template.)"""
    auth = params.get("auth")
    if isinstance(auth, dict) and has_template(auth) and {"sigv4", "basic"} <= set(auth):
        return [(("auth",), "give one of sigv4 or basic, not sigv4 and basic")]  # else the model
    basic = auth.get("basic") if isinstance(auth, dict) else None
    password = basic.get("password") if isinstance(basic, dict) else None
    if not isinstance(password, str):
        return []
    if any(expr.strip().startswith("secret.") for expr in find_templates(password)):
        return []
    message = (
        "the password must come from a secret: declare it under 'secrets' and write "
        "'{{ secret.<name> }}' (a literal password would be stored with the scenario)"
    )
    return [(("auth", "basic", "password"), message)]


class _SigV4Hook:
    """A requests auth hook: signs the prepared request as it will be sent."""

    def __init__(self, spec: SigV4) -> None:
        self.spec = spec
        self.sent: list[str] = []

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        import boto3
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from itest.lambdas.aws import target_session

        session = target_session() or boto3.Session()  # the targets' credentials, as aws.*
        credentials = session.get_credentials()
        region = self.spec.region or session.region_name
        if credentials is None or not region:
            missing = "credentials" if credentials is None else "region (give auth.sigv4.region)"
            raise ActionError(f"http: cannot sign with SigV4: no AWS {missing}", retryable=False)
        frozen = credentials.get_frozen_credentials()
        # requests writes a space in the query as '+', which AWS reads as a '+' when
        # it computes the canonical request: send the '%20' both sides agree on
        base, mark, query = str(request.url).partition("?")
        request.url = base + mark + query.replace("+", "%20")
        signed = AWSRequest(
            method=request.method, url=request.url, data=request.body or b"",
            headers={k: v for k, v in request.headers.items() if k.lower() != "connection"},
        )  # fmt: skip
        SigV4Auth(frozen, self.spec.service, region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        self.sent += [signed.headers["Authorization"], frozen.token or ""]
        return request


def hook(auth: HttpAuth | None) -> Any:
    """What ``requests`` takes as ``auth=``: the SigV4 hook, a (user, password) pair, or None."""
    if auth is None:
        return None
    if auth.basic is not None:
        return (auth.basic.username, auth.basic.password)
    assert auth.sigv4 is not None
    return _SigV4Hook(auth.sigv4)


def sent_credentials(response: requests.Response, used: Any) -> list[str]:
    """With ``auth``: every Authorization value the request and its redirects carried,
    and the session token (masked in the result). A header the scenario wrote itself
    is its own business."""
    if used is None:
        return []
    chain = [*response.history, response]
    values = [r.request.headers.get("Authorization") or "" for r in chain]
    if isinstance(used, _SigV4Hook):
        values += used.sent
    return [value for value in values if value]
