"""``http``: one HTTP request; any status is a result, only a failure to talk is an error."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from functools import cache
from typing import Any, Literal
from urllib.parse import urlsplit

import itest.lambdas.actions.http_auth as http_auth
import itest.lambdas.actions.http_pool as http_pool
from itest.lambdas import masking
from itest.lambdas.actions.body import json_or_none
from itest.lambdas.actions.registry import action
from itest.lambdas.deadlines import action_budget
from itest.lambdas.errors import ActionError
from itest.lambdas.masking import clip, mask
from itest.lambdas.validation import Strict
from pydantic import ConfigDict, Field, field_validator, model_validator

Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
URL = re.compile(r"https?://[^/\s]+", re.IGNORECASE)
ERRNO = re.compile(r"\[Errno -?\d+\][^'\")]*")
Scalar = str | int | float | bool


class HttpParams(Strict):
    """The ``with`` of an http step."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    method: Method = "GET"
    url: str = Field(description="absolute http:// or https:// URL")
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)
    json_: Any = Field(default=None, alias="json", description="request body, sent as JSON")
    body: str | None = Field(default=None, description="raw request body (text)")
    form: dict[str, Scalar | list[Scalar]] | None = Field(
        default=None, description="request body, form-encoded (application/x-www-form-urlencoded)"
    )
    timeout: float = Field(default=30, gt=0, description="seconds, connect and read each")
    follow_redirects: bool = True
    allow_downgrade: bool = Field(
        default=False, description="follow a redirect from https:// to http://"
    )
    verify: bool = Field(default=True, description="verify TLS certificates")
    auth: http_auth.HttpAuth | None = Field(
        default=None, description="sigv4: {service, region?} or basic: {username, password}"
    )

    @model_validator(mode="before")
    @classmethod
    def _upper_method(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("method"), str):
            data = {**data, "method": data["method"].upper()}
        return data

    @field_validator("url")
    @classmethod
    def _absolute(cls, url: str) -> str:
        if not URL.match(url):
            raise ValueError(f"expected an absolute http:// or https:// URL, got {url!r}")
        return url

    @model_validator(mode="after")
    def _one_body(self) -> HttpParams:
        given = [
            name
            for name, present in (
                ("json", "json_" in self.model_fields_set),
                ("body", self.body is not None),
                ("form", self.form is not None),
            )
            if present
        ]
        if len(given) > 1:
            raise ValueError(f"give one request body, not {' and '.join(given)}")
        return self


FAILURE_STATUS = 400
"""A status from which on a cleanup without ``expect`` has failed."""


def cleanup_success(result: Any) -> str | None:
    """A cleanup without ``expect``: a status below 400 (a DELETE answered 403 left the
    data behind)."""
    status = result.get("status") if isinstance(result, dict) else None
    if isinstance(status, int) and status >= FAILURE_STATUS:
        return (
            f"status {status} (an http cleanup without expect fails on a status >= "
            f"{FAILURE_STATUS}; add expect to say what success is)"
        )
    return None


@action(
    "http",
    params=HttpParams,
    check=http_auth.check,
    success=cleanup_success,
    unchecked="passes on any status, even 500: add e.g. expect: [{path: status, equals: 200}]",
)
def request(params: HttpParams) -> dict[str, Any]:
    """Send the request; result ``{status, headers, json, text, elapsed_ms}``, header
    names lower case, ``json`` None when the body is not JSON.

    Raises:
        ActionError: no response (refused, timed out, TLS failure, bad redirect).
    """
    import requests  # only runs that send HTTP pay for the import
    import urllib3

    timeout = params.timeout
    limit = action_budget()  # never past the Lambda's or the run's end
    cut = limit is not None and limit.seconds < timeout
    if limit is not None and cut:
        timeout = max(limit.seconds, 0.001)
    body: dict[str, Any] = {}
    if "json_" in params.model_fields_set:
        body["json"] = params.json_
    elif params.body is not None:
        body["data"] = params.body.encode()
    elif params.form is not None:
        body["data"] = params.form  # requests form-encodes a mapping
    auth = http_auth.hook(params.auth)

    def send() -> Any:
        with warnings.catch_warnings(), redirect_guard(params) as session:
            # verify: false is the scenario's explicit choice, not news for every log line
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            return session.request(
                params.method,
                str(params.url),
                headers=params.headers,
                params=params.query,
                timeout=timeout,
                allow_redirects=params.follow_redirects,
                verify=params.verify,
                auth=auth,
                **body,
            )

    try:
        response = _sent_once_more_if_stale(params.method, send)
    except requests.RequestException as exc:
        timed_out = isinstance(exc, requests.Timeout)
        reason = limit.describe() if cut and limit and timed_out else _reason(exc, timeout)
        raise ActionError(f"http {params.method} {params.url}: {reason}") from exc
    # what proved who the request is: masked like a secret wherever the run writes it
    masking.remember(http_auth.sent_credentials(response, auth))
    return {
        "status": response.status_code,
        "headers": {name.lower(): value for name, value in response.headers.items()},
        "json": json_or_none(response.text),
        "text": response.text,
        "elapsed_ms": round(response.elapsed.total_seconds() * 1000),
    }


def _sent_once_more_if_stale(method: str, send: Callable[[], Any]) -> Any:
    """``send()``; again on a new connection when a kept one failed before any answer
    and the method is idempotent (see :mod:`http_pool`)."""
    with http_pool.connections() as taken:
        try:
            return send()
        except Exception as exc:
            if not http_pool.worth_resending(method, taken, exc):
                raise
    with http_pool.connections(new=True):
        return send()


def redirect_guard(params: HttpParams) -> Any:
    """A requests session that follows redirects without handing secrets to another
    origin: on a change of scheme, host or port every header and the body that
    carry one of the run's secrets are dropped, and https -> http is refused
    unless ``allow_downgrade``. A new session per request: no cookie carries over
    from one step to the next; idle connections do, per origin (:mod:`http_pool`),
    except through a proxy.

    Raises (while following):
        ActionError: a redirect from https:// to http:// that the step does not allow.
    """
    session = _guarded_session()()
    session.params = params
    return session


@cache
def _guarded_session() -> type:
    """The session class of :func:`redirect_guard` (made once: requests is imported
    only by runs that send HTTP)."""
    import requests
    from requests.utils import resolve_proxies, select_proxy

    class Guarded(requests.Session):
        params: HttpParams
        direct = True  # the request being sent goes through no proxy

        def send(self, request: Any, **kwargs: Any) -> Any:
            if "proxies" not in kwargs:  # as requests does: Session.request gives them
                kwargs["proxies"] = resolve_proxies(request, self.proxies, self.trust_env)
            self.direct = not select_proxy(request.url, kwargs["proxies"])
            return super().send(request, **kwargs)

        def get_adapter(self, url: str) -> Any:
            if self.direct and url.lower().startswith(("http://", "https://")):
                return http_pool.adapter()
            return super().get_adapter(url)

        def rebuild_auth(self, prepared: Any, response: Any) -> None:
            super().rebuild_auth(prepared, response)
            params = self.params
            before, after = _origin(response.request.url), _origin(prepared.url)
            if before == after:
                return
            if before[0] == "https" and after[0] == "http" and not params.allow_downgrade:
                raise ActionError(
                    f"http {params.method} {params.url}: refused a redirect from https:// to "
                    f"http:// ({clip(prepared.url, 200)}); set allow_downgrade: true to follow it",
                    retryable=False,
                )
            for name, value in list(prepared.headers.items()):
                if mask(value) != value or name in http_auth.SIGNING_HEADERS:
                    del prepared.headers[name]
            body = prepared.body
            text = body.decode(errors="replace") if isinstance(body, bytes) else body
            if isinstance(text, str) and mask(text) != text:
                for name in ("Content-Type", "Transfer-Encoding"):
                    prepared.headers.pop(name, None)
                prepared.headers["Content-Length"] = "0"
                prepared.body = None

        def merge_environment_settings(
            self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
        ) -> dict[str, Any]:
            if proxies:  # the caller's own: requests' merge as it is
                return super().merge_environment_settings(url, proxies, stream, verify, cert)
            parts = urlsplit(str(url))
            found = environment_settings(parts.scheme.lower(), parts.netloc.lower(), stream,
                                         verify, cert)  # fmt: skip
            return {**found, "proxies": dict(found["proxies"])}

    return Guarded


@cache
def environment_settings(
    scheme: str, netloc: str, stream: Any, verify: Any, cert: Any
) -> dict[str, Any]:
    """What requests takes from the environment for a request to ``scheme://netloc``
    (proxies, ``no_proxy``, the CA bundle), as a fresh session of its own answers; read
    once per origin and process (requests reads the whole environment twice per
    request, a tenth of the action's CPU; a Lambda's environment is fixed for the
    life of its container). Tests that change those variables call ``cache_clear``."""
    import requests

    url = f"{scheme}://{netloc}/"
    return requests.Session().merge_environment_settings(url, {}, stream, verify, cert)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return (
        scheme,
        (parts.hostname or "").lower(),
        parts.port or {"http": 80, "https": 443}.get(scheme),
    )


def _reason(exc: Exception, timeout: float) -> str:
    """requests buries the useful part (``[Errno 111] Connection refused``) in a long repr."""
    import requests

    if isinstance(exc, requests.Timeout):
        return f"no response within {timeout:g} s ({type(exc).__name__})"
    errno = ERRNO.search(str(exc))
    if errno:
        return f"connection failed: {errno.group(0)}"
    return f"{type(exc).__name__}: {clip(str(exc), 300)}"
