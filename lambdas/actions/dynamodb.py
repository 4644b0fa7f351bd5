"""``dynamodb.*``: items as plain JSON; numbers come back as int or float, never Decimal."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from pydantic import Field

from lambdas.actions import action
from lambdas.aws import aws_errors, client
from lambdas.errors import ActionError
from lambdas.validation import Strict

Key = dict[str, Any]


class GetItemParams(Strict):
    """The ``with`` of a ``dynamodb.get_item`` step."""

    table: str = Field(min_length=1)
    key: Key = Field(min_length=1, description="plain JSON, e.g. {pk: order-1}")
    consistent_read: bool = False


class PutItemParams(Strict):
    """The ``with`` of a ``dynamodb.put_item`` step."""

    table: str = Field(min_length=1)
    item: Key = Field(min_length=1, description="plain JSON, including the key")


class DeleteItemParams(Strict):
    """The ``with`` of a ``dynamodb.delete_item`` step (deleting a missing item is fine)."""

    table: str = Field(min_length=1)
    key: Key = Field(min_length=1)


@action("dynamodb.get_item", params=GetItemParams)
def get_item(params: GetItemParams) -> dict[str, Any]:
    """Result ``{item}``, item None when absent.

    Raises:
        ActionError: the call failed (no such table, access denied, bad key).
    """
    with aws_errors(f"dynamodb.get_item {params.table}"):
        response = client("dynamodb").get_item(
            TableName=params.table,
            Key=to_dynamodb(params.key),
            ConsistentRead=params.consistent_read,
        )
    item = response.get("Item")
    return {"item": from_dynamodb(item) if item is not None else None}


@action("dynamodb.put_item", params=PutItemParams)
def put_item(params: PutItemParams) -> dict[str, Any]:
    """Result ``{item}``, the item written.

    Raises:
        ActionError: the call failed.
    """
    with aws_errors(f"dynamodb.put_item {params.table}"):
        client("dynamodb").put_item(TableName=params.table, Item=to_dynamodb(params.item))
    return {"item": params.item}


@action("dynamodb.delete_item", params=DeleteItemParams)
def delete_item(params: DeleteItemParams) -> dict[str, Any]:
    """Result ``{deleted}``: the item that was there, or None.

    Raises:
        ActionError: the call failed.
    """
    with aws_errors(f"dynamodb.delete_item {params.table}"):
        response = client("dynamodb").delete_item(
            TableName=params.table, Key=to_dynamodb(params.key), ReturnValues="ALL_OLD"
        )
    old = response.get("Attributes")
    return {"deleted": from_dynamodb(old) if old else None}


def to_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON → AttributeValues (floats go through Decimal, as DynamoDB wants).

    Raises:
        ActionError: a value DynamoDB cannot hold (NaN, a number out of range).
    """
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    try:
        return {name: serializer.serialize(_decimals(value)) for name, value in item.items()}
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise ActionError(f"cannot store {item!r} in DynamoDB: {exc}", retryable=False) from exc


def from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    """AttributeValues → plain JSON: numbers int or float, sets as sorted lists,
    binary as base64 text."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: _plain(deserializer.deserialize(value)) for name, value in item.items()}


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if hasattr(value, "value") and isinstance(value.value, bytes):  # boto3 Binary
        return base64.b64encode(value.value).decode()
    return value
