"""Step Functions' Lambda tasks invoke the function inside the local AWS, not over HTTP.

moto's interpreter runs in the server's own process, yet called Lambda through a
boto3 client: a request signed, sent over loopback, parsed by the server and
answered, per Task state (a fifth of a scenario step's server CPU with the
worker's own calls). On AWS too this is one service calling another, not a
public API call. `install()` gives the interpreter a client whose `invoke`
asks moto's Lambda backend directly, as moto's Invoke API does: the same
payload, `FunctionError`, the 6 MB response limit, and moto's errors as the
`ClientError`s boto3 would raise (`Lambda.ResourceNotFoundException`...).
"""

from __future__ import annotations

import io
import json
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

RESPONSE_LIMIT_BYTES = 6_000_000  # moto's check of Lambda's 6 MB synchronous response


class DirectLambda:
    """The part of a boto3 Lambda client that moto's interpreter uses: `invoke`."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region

    def invoke(
        self,
        FunctionName: str,  # boto3's parameter names
        Payload: bytes | str | None = None,
        Qualifier: str | None = None,
        LogType: str = "None",
        **_: Any,
    ) -> dict[str, Any]:
        from botocore.exceptions import ClientError
        from moto.awslambda.models import lambda_backends
        from moto.core.exceptions import JsonRESTError

        headers = {"x-amz-invocation-type": "RequestResponse", "x-amz-log-type": LogType}
        answer: dict[str, str] = {}
        backend = lambda_backends[self.account_id][self.region]
        try:
            payload = backend.invoke(FunctionName, Qualifier, Payload, headers, answer)
        except JsonRESTError as error:
            raise ClientError(
                _error(error.error_type, error.message, error.code), "Invoke"
            ) from None
        if payload is None:  # what moto's API answers then
            raise ClientError(_error("ResourceNotFoundException", "{}", 404), "Invoke")
        if sys.getsizeof(payload) > RESPONSE_LIMIT_BYTES:
            answer["x-amz-function-error"] = "Unhandled"
            payload = json.dumps({
                "errorMessage": "Response payload size exceeded maximum allowed payload size "
                "(6291556 bytes).",
                "errorType": "Function.ResponseSizeTooLarge",
            })  # fmt: skip
        response: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": io.BytesIO(payload if isinstance(payload, bytes) else payload.encode()),
            "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": str(uuid.uuid4())},
        }
        if "x-amz-function-error" in answer:
            response["FunctionError"] = answer["x-amz-function-error"]
        if LogType == "Tail" and "x-amz-log-result" in answer:
            response["LogResult"] = answer["x-amz-log-result"]
        return response


def _error(code: str, message: str, status: int) -> dict[str, Any]:
    return {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4())},
    }


def install(account_id: str) -> Callable[[], None]:
    """Give moto's Lambda tasks a `DirectLambda` per region; return the undo."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        lambda_eval_utils,
    )

    original = lambda_eval_utils.boto_client_for
    clients: dict[str, DirectLambda] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        if service != "lambda":
            return original(region, service, state_credentials)
        with lock:
            return clients.setdefault(region, DirectLambda(account_id, region))

    lambda_eval_utils.boto_client_for = boto_client_for
    return lambda: setattr(lambda_eval_utils, "boto_client_for", original)
