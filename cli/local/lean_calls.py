"""The engine's JSON-protocol calls (DynamoDB) from a Lambda worker to the local AWS,
without botocore's machinery around each request.

Run in the worker (cli/local/lambda_bootstrap.py loads this file by its path, and
only when the worker has its pipe to the local AWS, cli/local/pipe_client.py):
only the standard library is imported here; botocore is the handler's.

Only clients that ask for it: `itest.lambdas.aws.client` emits `itest-engine-client`
on each client it makes for the engine's own calls, and the handler registered here
(`install`) answers with a `LeanClient` around it; on AWS nobody answers and the
client is botocore's. A user's function and the actions' target clients never meet it.

Of 0.3 ms of CPU a call over the pipe, botocore spends some 0.25 ms on per-call work
whose outcome is the same for every call of an operation: events and their
handlers, the endpoint's rules, the user agent, signing, header objects, the retry
context. So the first call of each operation goes through botocore as any call does,
and the request it writes to the pipe is kept as the operation's template. A later
call of that operation writes the template with the values that change per call
(`X-Amz-Date`, the date in the credential scope, `amz-sdk-invocation-id`,
`Content-Length`) and the call's parameters as botocore's JSON serializer writes
them (`json.dumps` of the parameters: what that serializer gives for parameters
without bytes or datetimes, checked on the first call); its answer is parsed by
botocore's parser for the protocol, errors raised as botocore raises them (the
modeled class, the modeled error fields). tests/aws/test_lean_calls.py compares both
ways, request bytes and answers, errors included.

A call goes through botocore after all (as it would without this) when its
parameters are not plain JSON, or the pipe is broken or another thread has it. An
answer botocore would retry (throttled, 5xx, a bad CRC32: the local AWS sends none
unless a fault is injected), or the pipe breaking on the way, is handed to botocore
as its first attempt's (the pipe gives it to botocore's first request instead of
sending that: `AwsPipe.answer_next`), so its retries follow as they would have: the
same attempts and waits.
"""

from __future__ import annotations

import datetime
import json
import os
import threading
import uuid
from typing import Any

ENGINE_CLIENT_EVENT = "itest-engine-client"  # emitted by itest.lambdas.aws.client
UNSIGNED = "Signature=itest-local-unsigned"  # pipe_client's requests to the local AWS
TRACE_VARIABLE = "_X_AMZN_TRACE_ID"  # botocore adds it to requests: one per invocation
_BOTOCORE = "botocore"  # an operation whose calls all go through botocore


def install(pipe: Any, session: Any) -> None:
    """Offer a `LeanClient` (over `pipe`, the worker's AwsPipe) for each engine client
    made from `session` (boto3's default session, which the engine's clients come from)."""

    def offer(client: Any, **_: Any) -> LeanClient | None:
        if client.meta.service_model.protocol != "json":
            return None
        if (client.meta.config.retries or {}).get("mode") != "standard":
            return None  # the retry decision below is standard mode's
        if not pipe.is_local(client.meta.endpoint_url):
            return None
        return LeanClient(client, pipe)

    session.events.register(ENGINE_CLIENT_EVENT, offer)


class _Template:
    """An operation's request as botocore wrote it to the pipe (its first call).

    (Not a dataclass: this module is loaded by its path, outside `sys.modules`.)
    """

    def __init__(self, head: dict[str, Any], at: dict[str, int]) -> None:
        self.method: str = head["method"]
        self.url: str = head["url"]
        self.headers = tuple((name, value) for name, value in head["headers"])
        # where the headers that change per call are
        self.date_at = at["x-amz-date"]
        self.authorization_at = at["authorization"]
        self.invocation_at = at["amz-sdk-invocation-id"]
        self.length_at = at["content-length"]
        self.scope_date = self.headers[self.date_at][1][:8]  # yyyymmdd

    @classmethod
    def of(cls, head: dict[str, Any]) -> _Template | None:
        """The template of a request's frame head; None when it is signed or has not
        every header this module renews (then the operation stays botocore's)."""
        headers = head["headers"]
        at = {name.lower(): i for i, (name, _) in enumerate(headers)}
        needed = ("x-amz-date", "authorization", "amz-sdk-invocation-id", "content-length")
        if any(name not in at for name in needed) or "x-amzn-trace-id" in at:
            return None
        date, authorization = headers[at["x-amz-date"]][1], headers[at["authorization"]][1]
        if not authorization.endswith(UNSIGNED) or f"/{date[:8]}/" not in authorization:
            return None  # a signature is made for one date and body
        return cls(head, at)

    def head(self, body: bytes) -> dict[str, Any]:
        """This call's frame head: the template's, with this call's values."""
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        headers = list(self.headers)
        headers[self.date_at] = (headers[self.date_at][0], stamp)
        if stamp[:8] != self.scope_date:
            name, value = headers[self.authorization_at]
            headers[self.authorization_at] = (
                name,
                value.replace(f"/{self.scope_date}/", f"/{stamp[:8]}/", 1),
            )
        headers[self.invocation_at] = (headers[self.invocation_at][0], str(uuid.uuid4()))
        headers[self.length_at] = (headers[self.length_at][0], str(len(body)))
        return {"method": self.method, "url": self.url, "headers": headers}


class LeanClient:
    """A botocore client whose operations, after their first call, are sent from
    their template (see the module's docstring); everything else is the client's."""

    def __init__(self, client: Any, pipe: Any) -> None:
        self._client = client
        self._pipe = pipe
        self._templates: dict[str, _Template | str] = {}
        self._first_calls = threading.Lock()
        self._parser = client._endpoint._response_parser_factory.create_parser(
            client.meta.service_model.resolved_protocol
        )
        from botocore.retries.standard import StandardRetryConditions

        self._retried = StandardRetryConditions(max_attempts=2)  # is attempt 1 retried?

    def __getattr__(self, name: str) -> Any:
        """The client's attribute; an operation's method as a lean one (kept)."""
        value = getattr(self._client, name)
        operation = self._client.meta.method_to_api_mapping.get(name)
        if operation is None:
            return value

        def call(*args: Any, **params: Any) -> Any:
            if args:  # botocore's own TypeError
                return value(*args, **params)
            return self._call(operation, value, params)

        call.__name__ = name
        setattr(self, name, call)
        return call

    def _call(self, operation: str, botocore_call: Any, params: dict[str, Any]) -> Any:
        template = self._templates.get(operation)
        if template is None:
            return self._first_call(operation, botocore_call, params)
        if template == _BOTOCORE or TRACE_VARIABLE in os.environ:
            return botocore_call(**params)
        try:
            body = json.dumps(params).encode()
        except (TypeError, ValueError):  # bytes, datetimes: botocore's serializer's
            return botocore_call(**params)
        assert isinstance(template, _Template)
        from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

        try:
            answer = self._send(template.head(body), body)
        except (ConnectionClosedError, ReadTimeoutError) as exc:  # botocore's attempt 1's
            return self._retried_by_botocore(botocore_call, params, exc)
        if answer is None:  # the pipe is another thread's, or broken: nothing sent
            return botocore_call(**params)
        http, parsed = self._parsed(operation, answer)
        if parsed is None:  # botocore would send it again: its attempt 1 answered so
            answered = self._pipe.response_of(template.url, *answer)
            return self._retried_by_botocore(botocore_call, params, answered)
        if http.status_code < 300:
            return parsed
        code = parsed.get("Error", {}).get("Code")
        raise self._client.exceptions.from_code(code)(parsed, operation)

    def _retried_by_botocore(self, botocore_call: Any, params: dict[str, Any], first: Any) -> Any:
        """The call through botocore, its first attempt answered by `first` (the lean
        attempt's answer, or the error sending it raised) without sending it again:
        botocore's retries follow as they would have (same attempts, same waits)."""
        self._pipe.answer_next(first)
        try:
            return botocore_call(**params)
        finally:
            self._pipe.answer_next(None)

    def _send(self, head: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes] | None:
        """The answer from the pipe; None when this thread cannot have the pipe.

        Raises:
            botocore's ConnectionClosedError or ReadTimeoutError: the pipe broke.
        """
        with self._pipe.held() as held:
            if not held:
                return None
            return self._pipe.send_frame(head, body, self._client.meta.config.read_timeout)

    def _parsed(self, operation: str, answer: tuple[dict[str, Any], bytes]) -> Any:
        """The answer as botocore has it: its HTTP status, and what botocore parses
        the answer into (None when its standard retry mode would send it again)."""
        from botocore.retries.standard import RetryContext

        http = _Answer(*answer)
        model = self._client.meta.service_model.operation_model(operation)
        response = {  # botocore.endpoint.convert_to_response_dict's, for a whole body
            "headers": http.headers,
            "status_code": http.status_code,
            "context": {"operation_name": operation},
            "body": http.content,
        }
        parsed = self._parser.parse(response, model.output_shape)
        if http.status_code >= 300:
            self._client._endpoint._add_modeled_error_fields(response, parsed, model, self._parser)
        retry = RetryContext(1, model, parsed, http, request_context={})
        if self._retried.is_retryable(retry):
            return http, None
        parsed["ResponseMetadata"]["RetryAttempts"] = 0
        service = self._client.meta.service_model.service_id.hyphenize()
        self._client.meta.events.emit(  # as botocore does: its retry quota is released
            f"after-call.{service}.{operation}",
            http_response=http, parsed=parsed, model=model, context={},
        )  # fmt: skip
        return http, parsed

    def _first_call(self, operation: str, botocore_call: Any, params: dict[str, Any]) -> Any:
        """The call through botocore, its request (as written to the pipe) kept as the
        operation's template when `json.dumps` of the parameters gives its body."""
        written: list[tuple[dict[str, Any], bytes]] = []
        frame_of = self._pipe.frame_of
        thread = threading.get_ident()

        def keep(request: Any, **_: Any) -> None:
            if threading.get_ident() == thread and not written:  # attempt 1 only
                written.append(frame_of(request))

        service = self._client.meta.service_model.service_id.hyphenize()
        event = f"before-send.{service}.{operation}"
        with self._first_calls:  # one first call at a time: `keep` is the client's
            self._client.meta.events.register_first(event, keep, unique_id="itest-lean")
            try:
                return botocore_call(**params)
            finally:
                self._client.meta.events.unregister(event, unique_id="itest-lean")
                self._templates[operation] = self._template(written, params)

    @staticmethod
    def _template(written: list[tuple[dict[str, Any], bytes]], params: dict[str, Any]) -> Any:
        if not written:
            return _BOTOCORE
        head, body = written[0]
        try:
            same_body = json.dumps(params).encode() == body
        except (TypeError, ValueError):
            same_body = False
        template = _Template.of(head) if same_body else None
        return template or _BOTOCORE


class _Answer:
    """An answer from the pipe with what botocore's parser and retry checks read of
    its HTTP response: the status, the headers (names lower-cased, as the parser has
    them and looks them up; a header twice joined, as urllib3 does), the body."""

    def __init__(self, head: dict[str, Any], content: bytes) -> None:
        self.status_code: int = head["status"]
        self.content = content
        headers: dict[str, str] = {}
        for name, value in head["headers"]:
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers
