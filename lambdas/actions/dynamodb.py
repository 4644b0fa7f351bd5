"""``dynamodb.*``: items as plain JSON; numbers come back as int or float, never Decimal.

Conversion is boto3's TypeSerializer / TypeDeserializer; floats go through
Decimal on the way in and numbers come back as int when whole, float otherwise.
Expressions (``condition``, ``filter``, ``key_condition``, ``update``) are
DynamoDB's own, with ``names`` (``#n`` → attribute) and plain-JSON ``values``
(``:v`` → value).
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from itest.lambdas.actions.registry import action
from itest.lambdas.aws import aws_errors, target_client
from itest.lambdas.errors import ActionError
from itest.lambdas.validation import Strict
from pydantic import Field, model_validator

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


class Expressions(Strict):
    """Placeholders shared by DynamoDB's expressions."""

    names: dict[str, str] = Field(default_factory=dict, description="#placeholder -> attribute")
    values: dict[str, Any] = Field(default_factory=dict, description=":placeholder -> value")

    def placeholders(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.names:
            extra["ExpressionAttributeNames"] = self.names
        if self.values:
            extra["ExpressionAttributeValues"] = to_dynamodb(self.values)
        return extra


class UpdateItemParams(Expressions):
    """The ``with`` of ``dynamodb.update_item``: ``set`` / ``remove`` attributes by
    name, or a raw ``update`` expression; the item need not exist (DynamoDB's rule)."""

    table: str = Field(min_length=1)
    key: Key = Field(min_length=1)
    set: dict[str, Any] = Field(default_factory=dict, description="attribute -> new value")
    remove: list[str] = Field(default_factory=list, description="attributes to remove")
    update: str | None = Field(default=None, description="UpdateExpression, e.g. ADD n :one")
    condition: str | None = Field(default=None, description="ConditionExpression")

    @model_validator(mode="after")
    def _one_form(self) -> UpdateItemParams:
        if self.update is not None and (self.set or self.remove):
            raise ValueError("give 'set'/'remove' or 'update', not both")
        if self.update is None and not (self.set or self.remove):
            raise ValueError("nothing to update: give 'set', 'remove' or 'update'")
        return self


class QueryParams(Expressions):
    """The ``with`` of ``dynamodb.query``: ``key`` (equality on the key attributes)
    or a raw ``key_condition``; every page is read up to ``limit`` items."""

    table: str = Field(min_length=1)
    key: Key = Field(default_factory=dict, description="e.g. {pk: order-1}")
    key_condition: str | None = Field(default=None, description="KeyConditionExpression")
    index: str | None = Field(default=None, description="a global or local secondary index")
    filter: str | None = Field(default=None, description="FilterExpression")
    limit: int = Field(default=1000, gt=0, le=10000, description="most items returned")
    ascending: bool = Field(default=True, description="sort key order")
    consistent_read: bool = False

    @model_validator(mode="after")
    def _one_form(self) -> QueryParams:
        if bool(self.key) == (self.key_condition is not None):
            raise ValueError("give exactly one of 'key' or 'key_condition'")
        return self


class ScanParams(Expressions):
    """The ``with`` of ``dynamodb.scan``: every page up to ``limit`` items."""

    table: str = Field(min_length=1)
    index: str | None = None
    filter: str | None = Field(default=None, description="FilterExpression")
    limit: int = Field(default=1000, gt=0, le=10000, description="most items returned")
    consistent_read: bool = False


@action("dynamodb.get_item", params=GetItemParams)
def get_item(params: GetItemParams) -> dict[str, Any]:
    """Result ``{item}``, item None when absent.

    Raises:
        ActionError: the call failed (no such table, access denied, bad key).
    """
    with aws_errors(f"dynamodb.get_item {params.table}"):
        response = target_client("dynamodb").get_item(
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
        target_client("dynamodb").put_item(TableName=params.table, Item=to_dynamodb(params.item))
    return {"item": params.item}


@action("dynamodb.delete_item", params=DeleteItemParams)
def delete_item(params: DeleteItemParams) -> dict[str, Any]:
    """Result ``{deleted}``: the item that was there, or None.

    Raises:
        ActionError: the call failed.
    """
    with aws_errors(f"dynamodb.delete_item {params.table}"):
        response = target_client("dynamodb").delete_item(
            TableName=params.table, Key=to_dynamodb(params.key), ReturnValues="ALL_OLD"
        )
    old = response.get("Attributes")
    return {"deleted": from_dynamodb(old) if old else None}


@action("dynamodb.update_item", params=UpdateItemParams)
def update_item(params: UpdateItemParams) -> dict[str, Any]:
    """Result ``{item}``: the whole item after the update.

    Raises:
        ActionError: the call failed (a condition that does not hold:
            ConditionalCheckFailedException).
    """
    request: dict[str, Any] = {"TableName": params.table, "Key": to_dynamodb(params.key)}
    expression = Expressions(names=dict(params.names), values=dict(params.values))
    if params.update is not None:
        request["UpdateExpression"] = params.update
    else:
        clauses = []
        if params.set:
            sets = []
            for i, (name, value) in enumerate(params.set.items()):
                expression.names[f"#s{i}"] = name
                expression.values[f":s{i}"] = value
                sets.append(f"#s{i} = :s{i}")
            clauses.append("SET " + ", ".join(sets))
        if params.remove:
            for i, name in enumerate(params.remove):
                expression.names[f"#r{i}"] = name
            clauses.append("REMOVE " + ", ".join(f"#r{i}" for i in range(len(params.remove))))
        request["UpdateExpression"] = " ".join(clauses)
    if params.condition:
        request["ConditionExpression"] = params.condition
    with aws_errors(f"dynamodb.update_item {params.table}"):
        response = target_client("dynamodb").update_item(
            **request, **expression.placeholders(), ReturnValues="ALL_NEW"
        )
    return {"item": from_dynamodb(response.get("Attributes") or {})}


@action("dynamodb.query", params=QueryParams)
def query(params: QueryParams) -> dict[str, Any]:
    """Result ``{items, count}``, in sort key order (``ascending``).

    Raises:
        ActionError: the call failed (no such table or index, a bad expression).
    """
    expression = Expressions(names=dict(params.names), values=dict(params.values))
    condition = params.key_condition
    if condition is None:
        parts = []
        for i, (name, value) in enumerate(params.key.items()):
            expression.names[f"#k{i}"] = name
            expression.values[f":k{i}"] = value
            parts.append(f"#k{i} = :k{i}")
        condition = " AND ".join(parts)
    request: dict[str, Any] = {
        "TableName": params.table,
        "KeyConditionExpression": condition,
        "ScanIndexForward": params.ascending,
        "ConsistentRead": params.consistent_read,
        **expression.placeholders(),
    }
    _optional(request, IndexName=params.index, FilterExpression=params.filter)
    items = _pages("query", request, params.limit, f"dynamodb.query {params.table}")
    return {"items": items, "count": len(items)}


@action("dynamodb.scan", params=ScanParams)
def scan(params: ScanParams) -> dict[str, Any]:
    """Result ``{items, count}`` (a scan's order is DynamoDB's).

    Raises:
        ActionError: the call failed.
    """
    request: dict[str, Any] = {
        "TableName": params.table,
        "ConsistentRead": params.consistent_read,
        **params.placeholders(),
    }
    _optional(request, IndexName=params.index, FilterExpression=params.filter)
    items = _pages("scan", request, params.limit, f"dynamodb.scan {params.table}")
    return {"items": items, "count": len(items)}


def _optional(request: dict[str, Any], **values: Any) -> None:
    request.update({name: value for name, value in values.items() if value is not None})


def _pages(operation: str, request: dict[str, Any], limit: int, what: str) -> list[dict]:
    """Items of every page, until ``limit`` items or the last page."""
    items: list[dict[str, Any]] = []
    with aws_errors(what):
        for page in target_client("dynamodb").get_paginator(operation).paginate(**request):
            items += [from_dynamodb(item) for item in page.get("Items", [])]
            if len(items) >= limit:
                break
    return items[:limit]


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
