"""The engine's DynamoDB requests answered whole, for the plain items it writes.

Every item of the results table (lambdas/results/store.py) is flat: text, numbers
and booleans under their names. For such items moto's handlers still validate each
value with recursive walks, build and discard the item's JSON (PutItem), convert
and deep-copy every item a Query visits, size each item twice and parse the key
condition and projection again for each request, then converts the answer's
items to plain values and walks them once more to write them. Here PutItem (with
its condition or without), Query of one partition and BatchGetItem answer a
request of the shapes the engine and the CLI send, over such items, directly,
and write the answer's JSON from the items as they are stored.

A fast path answers only what it can answer exactly as moto does. Whatever else
(another parameter, a value of another type, a table with indexes, a check moto
would fail, a condition that does not hold, an answer near a size limit) goes to
moto's own method from the start: the fast path changed nothing before, so the
answer (the error) is moto's. tests/aws/test_dynamodb_fast.py sends each request
both ways, and checks which the fast paths answered.
"""

from __future__ import annotations

import functools
from typing import Any

from itest.cli.local.dynamodb_values import ITEM_SIZE_LIMIT
from itest.cli.local.undo import Undo, in_reverse
from moto.core.responses import ActionResult
from moto.dynamodb.comparisons import create_condition_expression_parser
from moto.dynamodb.limits import HASH_KEY_MAX_LENGTH, RANGE_KEY_MAX_LENGTH
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT
from moto.dynamodb.parsing.key_condition_expression import parse_expression
from moto.dynamodb.responses import DynamoHandler, DynamoResult, ProjectionExpressionParser

PLAIN = {"S": str, "N": str, "BOOL": bool}  # the attribute types the engine writes
PUT_PARAMETERS = frozenset(
    {"TableName", "Item", "ConditionExpression", "ExpressionAttributeNames",
     "ExpressionAttributeValues", "ReturnValuesOnConditionCheckFailure", "ReturnValues",
     "ReturnConsumedCapacity"}
)  # fmt: skip
BATCH_GET_PARAMETERS = frozenset({"RequestItems", "ReturnConsumedCapacity"})  # moto ignores it
TABLE_READ_PARAMETERS = frozenset(
    {"Keys", "ConsistentRead", "ProjectionExpression", "ExpressionAttributeNames"}
)
PARSED = 1024  # expressions kept parsed, of each kind (itest's requests use a few per run)
BATCH_GET_LIMIT = 100  # keys a BatchGetItem may ask for
BATCH_GET_BYTES = 16 * 1024 * 1024  # what one BatchGetItem answers at most (moto counts sizes)
QUERY_PARAMETERS = frozenset(
    {"TableName", "KeyConditionExpression", "ExpressionAttributeNames",
     "ExpressionAttributeValues", "ProjectionExpression", "ScanIndexForward", "Limit",
     "ConsistentRead", "ReturnConsumedCapacity"}
)  # fmt: skip


def install() -> Undo:
    """Answer PutItem, Query and BatchGetItem directly where they can; return the undo."""
    undoes = [
        _answered_directly(DynamoHandler, "put_item", _put_item),
        _answered_directly(DynamoHandler, "query", _query),
        _answered_directly(DynamoHandler, "batch_get_item", _batch_get_item),
    ]
    return in_reverse(undoes)


def _answered_directly(handler: type, name: str, direct: Any) -> Undo:
    """`handler.name` answers by `direct(self)` unless that returns None (moto's then)."""
    moto_method = handler.__dict__[name]

    @functools.wraps(moto_method)
    def method(self: Any) -> Any:
        answered = direct(self)
        return moto_method(self) if answered is None else answered

    setattr(handler, name, method)
    return lambda: setattr(handler, name, moto_method)


class Written(ActionResult):
    """An answer already in the form moto's serializer writes (its members in the output
    shape's order, plain attribute values): cli/local/dynamodb_json.py dumps it as is."""


def _plain(attrs: dict[str, Any]) -> dict[str, Any] | None:
    """Attributes ({name: DynamoType}) as the answer writes them, if all are plain."""
    written = {}
    for name, typed in attrs.items():
        kind, value = typed.type, typed.value
        if PLAIN.get(kind) is not type(value):
            return None
        written[name] = {kind: value}
    return written


def _typed(value: Any) -> Any:
    """`value` ({"S": "x"}) as the DynamoType moto makes of it; None unless it is text, a
    number (its text) or a boolean."""
    if type(value) is not dict or len(value) != 1:
        return None
    for letter, inner in value.items():
        if PLAIN.get(letter) is not type(inner):
            return None
        typed = object.__new__(DynamoType)
        typed.type, typed.value = letter, inner
        return typed
    return None


def _copy_of(typed: Any) -> Any:
    copy = object.__new__(DynamoType)
    copy.type, copy.value = typed.type, typed.value
    return copy


def _size(typed: Any) -> int:
    """moto's `DynamoType.size()` of a plain value."""
    kind = typed.type
    if kind == "S":
        return len(typed.value.encode())
    return len(typed.value) if kind == "N" else 1


def _values_as_moto_takes_them(values: Any) -> bool:
    """ExpressionAttributeValues moto's `_get_expr_attr_values` accepts (absent, or
    `:names` of plain values)."""
    if values is None:
        return True
    return bool(values) and all(
        type(name) is str and name.startswith(":") and _typed(value) is not None
        for name, value in values.items()
    )


# --- PutItem ---------------------------------------------------------------------------


def _put_item(handler: Any) -> Any:
    """Store a plain item whose condition (if any) holds; answer {} as moto does."""
    body = handler.body
    if (
        not PUT_PARAMETERS.issuperset(body)
        or body.get("ReturnValues", "NONE") != "NONE"
        or body.get("ReturnConsumedCapacity", "NONE") != "NONE"
    ):
        return None
    table = handler.dynamodb_backend.tables.get(body.get("TableName"))
    if table is None or table.indexes or table.global_indexes:
        return None
    attrs = _plain_item(body.get("Item"), table, ITEM_SIZE_LIMIT)
    if attrs is None:
        return None
    hash_key, range_key = attrs.get(table.hash_key_attr), None
    if hash_key is None or not _is_key(hash_key, table.hash_key_type, HASH_KEY_MAX_LENGTH):
        return None
    if table.range_key_attr is not None:
        range_key = attrs.get(table.range_key_attr)
        if range_key is None or not _is_key(range_key, table.range_key_type, RANGE_KEY_MAX_LENGTH):
            return None
    holds = _put_condition(body)
    if holds is None:
        return None
    hash_key, range_key = _copy_of(hash_key), range_key and _copy_of(range_key)
    current = table.get_item(hash_key, range_key)
    if not holds(current):
        return None  # moto raises ConditionalCheckFailed (with the item, if asked)
    item = object.__new__(Item)  # its attributes are checked and typed already
    item.hash_key, item.range_key = hash_key, range_key
    item.attrs = LimitedSizeDict.__new__(LimitedSizeDict)  # sized above
    dict.update(item.attrs, attrs)
    if range_key is not None:
        table.items[hash_key][range_key] = item
    else:
        table.items[hash_key] = item
    if table.stream_shard is not None:
        table.stream_shard.add(current, item)
    return ActionResult({})


def _plain_item(item: Any, table: Any, limit: int) -> dict[str, Any] | None:
    """The item's attributes as DynamoTypes when each is plain, each number is one moto
    accepts and the item is within moto's size limit; else None."""
    if type(item) is not dict:
        return None
    attrs = {}
    size = 0
    for name, value in item.items():
        if type(value) is not dict or len(value) != 1:
            return None
        ((letter, inner),) = value.items()
        if PLAIN.get(letter) is not type(inner):
            return None
        if letter == "S":
            size += len(inner.encode())
        elif letter == "N":
            try:
                table._validate_number_type(inner)
            except Exception:
                return None
            size += len(inner)  # moto's DynamoType.size() of a number
        else:
            size += 1
        typed = attrs[name] = object.__new__(DynamoType)
        typed.type, typed.value = letter, inner
        size += len(name.encode())
    return attrs if size <= limit else None


def _is_key(typed: Any, key_type: str, max_size: int) -> bool:
    """A key value moto's put accepts: the key's type, not empty text, not too long."""
    return typed.type == key_type and typed.value != "" and _size(typed) <= max_size


def _put_condition(body: dict[str, Any]) -> Any:
    """What tells whether the put may replace an item (None: moto must answer): its
    ConditionExpression's operator tree, or anything when it has none."""
    expression = body.get("ConditionExpression")
    names = body.get("ExpressionAttributeNames", {})
    values = body.get("ExpressionAttributeValues")
    if not _values_as_moto_takes_them(values) or type(names) is not dict:
        return None
    if expression is None:
        return None if names else _anything
    if type(expression) is not str or not expression:
        return None
    try:
        tree, names_used = _condition(expression, tuple(names.items()), _values_key(values))
    except Exception:  # moto's own parse says what is wrong
        return None
    return tree.expr if names_used.issuperset(names) else None


def _anything(current: Any) -> bool:
    return True


@functools.lru_cache(maxsize=PARSED)
def _condition(expression: str, names: tuple, values: tuple) -> tuple[Any, frozenset[str]]:
    """moto's operator tree of a condition (its operators only read the item they are
    asked about) and the names it used; raises what moto raises."""
    parser = create_condition_expression_parser(expression, dict(names), _values_of(values))
    return parser.parse(), frozenset(parser.expr_attr_names_found)


def _values_key(values: dict[str, Any] | None) -> tuple:
    """Plain ExpressionAttributeValues as a key of parsed expressions."""
    return tuple((name, *value.items()) for name, value in (values or {}).items())


def _values_of(key: tuple) -> dict[str, Any]:
    return {name: dict(value) for name, *value in key}


# --- Query -----------------------------------------------------------------------------


def _query(handler: Any) -> Any:
    """Query one partition of a table by its key (the engine's reads of a run, the CLI's
    polls for the newest step): moto's items in moto's order, without copying them."""
    body = handler.body
    if (
        not QUERY_PARAMETERS.issuperset(body)
        or body.get("ReturnConsumedCapacity", "NONE") != "NONE"
    ):
        return None
    table = handler.dynamodb_backend.tables.get(body.get("TableName"))
    names = body.get("ExpressionAttributeNames", {})
    values = body.get("ExpressionAttributeValues")
    limit = body.get("Limit")
    forward = body.get("ScanIndexForward", True)
    if (
        table is None
        or table.range_key_attr is None
        or type(names) is not dict
        or not _values_as_moto_takes_them(values)
        or (limit is not None and (type(limit) is not int or limit < 1))
        or type(forward) is not bool
    ):
        return None
    names_key = tuple(names.items())
    values_key = _values_key(values)
    schema = tuple((key["AttributeName"], key["KeyType"]) for key in table.schema)
    try:
        hash_key, comparison, bounds, key_names = _key_condition(
            body.get("KeyConditionExpression"), names_key, values_key, schema
        )
        paths, projected_names = _projection(body.get("ProjectionExpression"), names_key)
    except Exception:  # moto says what is wrong
        return None
    if (
        hash_key.type != table.hash_key_type
        or any(bound.type != table.range_key_type for bound in bounds)
        or not (key_names | projected_names).issuperset(names)
    ):
        return None
    partition = table.items.get(hash_key) or {}
    candidates = sorted(partition.values(), key=_range_key, reverse=not forward)
    found: list[Any] = []
    size = 0
    last_key = None
    for item in candidates:
        if len(found) == limit:
            last_key = table._get_last_evaluated_key(found[-1], None)
            break
        item_size = item.size()
        if size + item_size > RESULT_SIZE_LIMIT:
            return None  # moto pages by size
        if comparison is None or item.range_key.compare(comparison, bounds):
            found.append(item)
            size += item_size
    if paths:
        found = [item.project(paths) for item in found]
    items = [_plain(item.attrs) for item in found]
    written_key = None if last_key is None else _plain(last_key)
    if None in items or (last_key is not None and written_key is None):
        result: dict[str, Any] = {
            "Count": len(found),
            "ScannedCount": len(found),
            "Items": [item.attrs for item in found],
        }
        if last_key is not None:
            result["LastEvaluatedKey"] = last_key
        return DynamoResult(result)
    written: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
    if written_key is not None:
        written["LastEvaluatedKey"] = written_key
    return Written(written)


def _range_key(item: Any) -> Any:
    return item.range_key


@functools.lru_cache(maxsize=PARSED)
def _key_condition(
    expression: Any, names: tuple, values: tuple, schema: tuple
) -> tuple[Any, str | None, list[Any], frozenset[str]]:
    """A KeyConditionExpression on a table's own key as moto reads it: the partition's
    key, the comparison on the sort key and its operands (None, []: none) and the names
    it used. Raises what moto raises, or ValueError when moto would read more."""
    if type(expression) is not str or not expression:
        raise ValueError("no key condition")
    hashes, ranges, names_used = parse_expression(
        key_condition_expression=expression,
        expression_attribute_names=dict(names),
        expression_attribute_values=_values_of(values),
        schema=[{"AttributeName": name, "KeyType": kind} for name, kind in schema],
    )
    (hash_name, hash_value), *others = hashes
    keys = dict(schema)
    if others or len(ranges) > 1 or keys.get(hash_name) != "HASH":
        raise ValueError("not the table's own key")
    comparison, bounds = None, []
    if ranges:
        range_name, comparison, operands = ranges[0]
        if keys.get(range_name) != "RANGE":
            raise ValueError("not the table's own key")
        bounds = [DynamoType(operand) for operand in operands]
    return DynamoType(hash_value), comparison, bounds, frozenset(names_used)


@functools.lru_cache(maxsize=PARSED)
def _projection(expression: Any, names: tuple) -> tuple[list[list[str]], frozenset[str]]:
    """A ProjectionExpression's paths as moto reads them (none: []) and the names it used;
    raises what moto raises."""
    if expression is None:
        return [], frozenset()
    if type(expression) is not str or not expression:
        raise ValueError("an empty projection")
    parser = ProjectionExpressionParser(expression, dict(names))
    return parser.parse(), frozenset(parser.expr_attr_names_found)


# --- BatchGetItem ----------------------------------------------------------------------


def _batch_get_item(handler: Any) -> Any:
    """Read keys of text, numbers or booleans from existing tables (the engine's read of
    a run record and the steps a template names): moto's items, each sized once."""
    body = handler.body
    requests = body.get("RequestItems")
    if not BATCH_GET_PARAMETERS.issuperset(body) or type(requests) is not dict:
        return None
    responses: dict[str, list[Any]] = {}
    capacity = []
    size = asked = 0
    for name, request in requests.items():
        table = handler.dynamodb_backend.tables.get(name)
        if table is None or type(request) is not dict:
            return None
        keys = request.get("Keys")
        names = request.get("ExpressionAttributeNames", {})
        if (
            not TABLE_READ_PARAMETERS.issuperset(request)
            or type(keys) is not list
            or type(names) is not dict
        ):
            return None
        asked += len(keys)
        try:
            paths, projected_names = _projection(
                request.get("ProjectionExpression"), tuple(names.items())
            )
        except Exception:  # moto says what is wrong
            return None
        if asked > BATCH_GET_LIMIT or not projected_names.issuperset(names):
            return None
        lookups = [_key_of(key, table) for key in keys]
        if None in lookups or len(set(lookups)) < len(lookups):  # moto refuses duplicates
            return None
        found = []
        for hash_key, range_key in lookups:  # type: ignore[misc]
            item = table.get_item(hash_key, range_key, paths)
            if item is not None:
                size += item.size()
                if size > BATCH_GET_BYTES:
                    return None  # moto leaves the rest unprocessed
                found.append(item)
        responses[name] = found
        capacity.append({"TableName": name, "CapacityUnits": float(len(keys))})
    plain = {name: [_plain(item.attrs) for item in found] for name, found in responses.items()}
    if any(None in items for items in plain.values()):
        return DynamoResult({"ConsumedCapacity": capacity, "UnprocessedKeys": {},
                             "Responses": {name: [item.attrs for item in found]
                                           for name, found in responses.items()}})  # fmt: skip
    return Written({"Responses": plain, "UnprocessedKeys": {}, "ConsumedCapacity": capacity})


def _key_of(key: Any, table: Any) -> tuple[Any, Any] | None:
    """A BatchGetItem key of `table` as what its items are stored by (the partition's
    key, the sort key's or None); None unless it names the table's key attributes only,
    each text, a number or a boolean."""
    if type(key) is not dict or len(key) != (1 if table.range_key_attr is None else 2):
        return None
    hash_key = _typed(key.get(table.hash_key_attr))
    if table.range_key_attr is None:
        return None if hash_key is None else (hash_key, None)
    range_key = _typed(key.get(table.range_key_attr))
    return None if hash_key is None or range_key is None else (hash_key, range_key)
