"""moto's DynamoDB attribute values sized, copied and made plain without its generic helpers.

moto keeps each attribute value as a `DynamoType` (a type letter and a value;
lists and maps hold DynamoTypes) in an `Item`. For every answer it sizes items
(twice per item a Query returns), deep-copies them (every Query result) and
converts them to plain dicts (`dynamo_to_dict`, every answer), and hashes and
compares keys by `cast_value` (every lookup of an item); each of these asks
`is_number()`, `is_set()`, ... (method calls), builds a throwaway
DynamoType per set member or map value, or goes through `copy.deepcopy`'s
dispatch and memo per value. Found by profiling the local AWS with 50 runs at
once (bench/dynamodb_server.py). Each function here computes what moto's does,
from the type letter; a value of an unexpected kind goes to moto's own code.
"""

from __future__ import annotations

import copy
from typing import Any

from itest.cli.local.undo import Undo, in_reverse

ITEM_SIZE_LIMIT = 405_000  # moto's LimitedSizeDict: bytes an item may hold
SETS = frozenset({"SS", "NS", "BS"})
PLAIN = frozenset({str, int, float, bool, type(None)})


def install() -> Undo:
    """Patch moto's attribute values; return the undo (called by dynamodb_fast.install)."""
    undoes = [_size_by_type(), _cast_by_type(), _copy_by_type(), _plain_dicts_by_type()]
    return in_reverse(undoes)


def _size_by_type() -> Undo:
    """`DynamoType.size` and `Item.size`: DynamoDB's size rules as moto counts them."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.utilities import bytesize

    sizes = DynamoType.size, Item.size

    def size(self: DynamoType) -> int:
        kind, value = self.type, self.value
        if kind == "S" and type(value) is str:
            return len(value.encode())
        if kind == "N":
            return len(str(value))
        if kind in SETS:  # each member sized as a DynamoType of the member type
            if kind == "NS":
                return sum(len(str(member)) for member in value)
            return sum(1 if isinstance(member, bool) else bytesize(member) for member in value)
        if kind == "L":
            return sum(element.size() for element in value)
        if kind == "M":
            return sum(
                bytesize(key)
                + (entry.size() if type(entry) is DynamoType else DynamoType(entry).size())
                for key, entry in value.items()
            )
        if isinstance(value, bool):
            return 1
        return bytesize(value)

    def item_size(self: Item) -> int:
        total = 0
        for key, value in self.attrs.items():
            total += len(key.encode()) if type(key) is str else bytesize(key)
            kind, inner = value.type, value.value
            if kind == "S" and type(inner) is str:
                total += len(inner.encode())
            elif kind == "N" and type(inner) is str:
                total += len(inner)
            else:
                total += value.size()
        return total

    DynamoType.size, Item.size = size, item_size

    def undo() -> None:
        DynamoType.size, Item.size = sizes

    return undo


def _cast_by_type() -> Undo:
    """`DynamoType.cast_value` (what keys hash and compare by: every lookup of an item)
    for text, binaries, booleans and numbers; moto's for the rest."""
    from decimal import Decimal

    from moto.dynamodb.models.dynamo_type import DynamoType

    cast_value = DynamoType.__dict__["cast_value"]
    as_is = frozenset({"S", "B", "BOOL"})

    def cast(self: DynamoType) -> Any:
        kind = self.type
        if kind in as_is:
            return self.value
        if kind == "N":
            return Decimal(self.value)
        return cast_value.fget(self)

    DynamoType.cast_value = property(cast)
    return lambda: setattr(DynamoType, "cast_value", cast_value)


def _copy_by_type() -> Undo:
    """moto's own `__deepcopy__` of a DynamoType and an Item (same copies, same memo
    entries), with the values inside copied by direct calls instead of through
    `copy.deepcopy`'s dispatch."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    copies = DynamoType.__deepcopy__, Item.__deepcopy__

    def copied(value: Any, memo: dict[int, Any]) -> Any:
        if type(value) is DynamoType:
            return copy_typed(value, memo)
        return copy.deepcopy(value, memo)

    def copy_typed(self: DynamoType, memo: dict[int, Any]) -> DynamoType:
        if id(self) in memo:
            return memo[id(self)]
        result = self.__class__.__new__(self.__class__)
        memo[id(self)] = result
        kind = result.type = self.type
        if kind == "L":
            result.value = [copied(element, memo) for element in self.value]
        elif kind == "M":
            result.value = {key: copied(entry, memo) for key, entry in self.value.items()}
        elif kind in SETS:
            result.value = list(self.value)
        else:
            result.value = self.value
        return result

    def copy_item(self: Item, memo: dict[int, Any]) -> Item:
        if id(self) in memo:
            return memo[id(self)]
        result = self.__class__.__new__(self.__class__)
        memo[id(self)] = result
        result.hash_key = copied(self.hash_key, memo)
        result.range_key = copied(self.range_key, memo)
        attrs = LimitedSizeDict.__new__(LimitedSizeDict)  # a copy of a checked item
        dict.__init__(attrs, {key: copied(value, memo) for key, value in self.attrs.items()})
        result.attrs = attrs
        return result

    DynamoType.__deepcopy__, Item.__deepcopy__ = copy_typed, copy_item

    def undo() -> None:
        DynamoType.__deepcopy__, Item.__deepcopy__ = copies

    return undo


def _plain_dicts_by_type() -> Undo:
    """`dynamo_to_dict` (every DynamoDB answer's values, before they are written) for
    dicts, lists and DynamoTypes of text, numbers and booleans; moto's for the rest
    (binaries, datetimes, objects with `to_json`)."""
    from moto.dynamodb import responses
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    dynamo_to_dict = responses.dynamo_to_dict
    dicts = (dict, LimitedSizeDict)

    def to_dict(value: Any) -> Any:
        kind = type(value)
        if kind is DynamoType:
            letter, inner = value.type, value.value
            if letter == "B" or letter == "BS":
                return dynamo_to_dict(value)
            if type(inner) in PLAIN:
                return {letter: inner}
            return {letter: to_dict(inner)}
        if kind in dicts:
            return {key: to_dict(entry) for key, entry in value.items()}
        if kind is list:
            return [to_dict(element) for element in value]
        if kind in PLAIN:
            return value
        return dynamo_to_dict(value)

    responses.dynamo_to_dict = to_dict
    return lambda: setattr(responses, "dynamo_to_dict", dynamo_to_dict)
