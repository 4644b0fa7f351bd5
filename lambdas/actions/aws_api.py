"""``aws.<service>.<operation>``: any boto3 call, for what the named actions do not cover.

``with`` holds the call's raw parameters as boto3 names them
(``aws.sqs.send_message`` with ``{QueueUrl: ..., MessageBody: ...}``); the
result is the response as plain JSON without ``ResponseMetadata``. The service
and operation are checked against botocore's models offline, and so are the
parameters' names and the types of those that are not templates.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from typing import Any

from itest.lambdas.actions.registry import Action, family
from itest.lambdas.aws import aws_errors, plain, target_client
from itest.lambdas.errors import UnknownActionError
from itest.lambdas.expressions import has_template
from itest.lambdas.masking import clip, remember
from itest.lambdas.matchers import json_type
from itest.lambdas.validation import Loc
from pydantic import BaseModel, ConfigDict

NAME = re.compile(r"aws\.([a-z0-9-]+)\.([a-z0-9_]+)")
PATTERN = "aws.<service>.<operation>"


class AwsCallParams(BaseModel):
    """Any keys: they are the boto3 call's parameters, checked against its model."""

    model_config = ConfigDict(extra="allow")

    def kwargs(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


@family("aws.", pattern=PATTERN, names=NAME)
def aws_call(name: str) -> Action:
    """The action for one boto3 operation.

    Raises:
        UnknownActionError: the name is malformed, or botocore knows no such
            service or operation (the message suggests the closest).
    """
    match = NAME.fullmatch(name)
    if not match:
        raise _unknown(name, f"expected {PATTERN} in snake_case, e.g. aws.sqs.send_message")
    service, operation = match.groups()
    services = _services()
    if service not in services:
        raise _unknown(name, f"botocore has no service {service!r}", service, services)
    operations = _operations(service)
    if operation not in operations:
        hint = f"service {service!r} has no operation {operation!r}"
        raise _unknown(name, hint, operation, sorted(operations))
    shape = _service_model(service).operation_model(operations[operation]).input_shape

    def run(params: AwsCallParams) -> dict[str, Any]:
        with aws_errors(name):
            response = getattr(target_client(service), operation)(**params.kwargs())
        response.pop("ResponseMetadata", None)
        result = plain(response)
        remember(secret_values(service, params.kwargs(), result))
        return result

    def check(params: dict[str, Any]) -> list[tuple[Loc, str]]:
        return shape_problems(shape, params, ()) if shape is not None else []

    return Action(name=name, params=AwsCallParams, run=run, check=check)


SECRET_FIELDS = {
    "secretsmanager": ("SecretString", "SecretBinary"),
    "kms": ("Plaintext", "PrivateKeyPlaintext"),
}
"""Response fields that hold a secret, wherever they appear in a response."""


def secret_values(service: str, params: dict[str, Any], result: Any) -> list[Any]:
    """What an ``aws.*`` call read that is a secret: Secrets Manager's secret values
    (GetSecretValue, BatchGetSecretValue), KMS plaintexts (Decrypt,
    GenerateDataKey...) and SSM parameters read with decryption or of type
    SecureString. They are masked like declared secrets (docs/scenarios.md)."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SECRET_FIELDS.get(service, ()) and value is not None:
                    found.append(value)
                elif service == "ssm" and key in ("Parameter", "Parameters"):
                    for parameter in value if isinstance(value, list) else [value]:
                        if isinstance(parameter, dict) and (
                            params.get("WithDecryption") or parameter.get("Type") == "SecureString"
                        ):
                            found.append(parameter.get("Value"))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(result)
    return found


def _unknown(name: str, why: str, word: str = "", choices: list[str] | None = None) -> Exception:
    close = difflib.get_close_matches(word, choices or [], n=1) if word else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return UnknownActionError(name, [PATTERN], why=why + hint)


@cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@cache
def _services() -> list[str]:
    return sorted(_session().get_available_services())


@cache
def _service_model(service: str) -> Any:
    return _session().get_service_model(service)


@cache
def _operations(service: str) -> dict[str, str]:
    """snake_case (boto3's method names) → the API's operation name."""
    from botocore import xform_name

    return {xform_name(op): op for op in _service_model(service).operation_names}


SCALARS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "blob": (str,),
    "timestamp": (str, int, float),
}


def shape_problems(shape: Any, value: Any, loc: Loc) -> list[tuple[Loc, str]]:
    """Unknown and missing parameters, and wrong types of plain (untemplated) values."""
    if has_template(value) and isinstance(value, str):
        return []
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [(loc, f"expected a mapping ({shape.name}), got {json_type(value)}")]
        problems: list[tuple[Loc, str]] = []
        members = list(shape.members)
        for key, item in value.items():
            if key not in shape.members:
                close = difflib.get_close_matches(key, members, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append(
                    (loc, f"unknown parameter {key!r}{hint} Expected one of: {', '.join(members)}")
                )
            else:
                problems += shape_problems(shape.members[key], item, (*loc, key))
        problems += [
            (loc, f"{name!r} is required") for name in shape.required_members if name not in value
        ]
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [(loc, f"expected a list, got {json_type(value)}")]
        return [
            p for i, item in enumerate(value) for p in shape_problems(shape.member, item, (*loc, i))
        ]
    if kind == "map":
        if not isinstance(value, dict):
            return [(loc, f"expected a mapping, got {json_type(value)}")]
        return [
            p for key, item in value.items() for p in shape_problems(shape.value, item, (*loc, key))
        ]
    accepted = SCALARS.get(kind)
    if accepted and (
        not isinstance(value, accepted) or (bool not in accepted and isinstance(value, bool))
    ):
        return [(loc, clip(f"expected {kind}, got {json_type(value)} {value!r}", 200))]
    return []
