"""``lambda.invoke``: call a function with a JSON payload, see its answer and its logs."""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

from itest.lambdas.actions.registry import action
from itest.lambdas.aws import aws_errors, target_client
from itest.lambdas.validation import Strict
from pydantic import Field


class InvokeParams(Strict):
    """The ``with`` of a ``lambda.invoke`` step."""

    function: str = Field(min_length=1, description="function name or ARN")
    payload: Any = Field(default=None, description="the event, any JSON (default {})")
    qualifier: str | None = Field(default=None, description="version or alias")
    invocation_type: Literal["RequestResponse", "Event", "DryRun"] = "RequestResponse"
    logs: bool = Field(default=True, description="return the last 4 KB of the function's log")


@action("lambda.invoke", params=InvokeParams)
def invoke(params: InvokeParams) -> dict[str, Any]:
    """Result ``{status_code, function_error, payload, logs}``: ``function_error`` is
    ``Unhandled`` (or null) when the function raised, with the error object as
    ``payload``; ``payload`` is parsed JSON, or text when it is not JSON; ``logs``
    is the decoded log tail (null for Event and DryRun invocations).

    Raises:
        ActionError: the call failed (no such function, access denied, throttled).
    """
    extra: dict[str, Any] = {"Qualifier": params.qualifier} if params.qualifier else {}
    if params.logs and params.invocation_type == "RequestResponse":
        extra["LogType"] = "Tail"
    event = {} if "payload" not in params.model_fields_set else params.payload
    with aws_errors(f"lambda.invoke {params.function}"):
        response = target_client("lambda").invoke(
            FunctionName=params.function,
            InvocationType=params.invocation_type,
            Payload=json.dumps(event).encode(),
            **extra,
        )
        body = response["Payload"].read().decode("utf-8", errors="replace")
    tail = response.get("LogResult")
    return {
        "status_code": response.get("StatusCode"),
        "function_error": response.get("FunctionError"),
        "payload": _json_or_text(body),
        "logs": base64.b64decode(tail).decode("utf-8", errors="replace") if tail else None,
    }


def _json_or_text(text: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
