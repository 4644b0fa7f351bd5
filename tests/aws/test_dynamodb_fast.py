"""The local AWS's DynamoDB fast paths answer as moto's own code does (cli/local/dynamodb_fast.py).

One session of DynamoDB requests — the kinds itest's handlers and CLI send,
their error cases, and the shapes an item can take — is answered twice: by a
local AWS without the fast paths (moto's own code), then by one with them.
Each request must get the same status, error type and body, byte for byte,
and both tables must end the same.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
from itest.cli.local import dynamodb_direct, dynamodb_fast, dynamodb_json
from itest.cli.local.server import LocalAws, local_aws

from tests.aws.tables import create_pk_sk_table, dynamodb_request

TABLE = "fast"
RUN = {"pk": {"S": "run-1"}, "sk": {"S": "run"}}
BLOB = base64.b64encode(b"\x00\xffbytes").decode()


def _step(index: int) -> dict[str, Any]:
    return {"pk": {"S": "run-1"}, "sk": {"S": f"step#{index:04d}"}}


CLAIM = (  # the engine's claim of a step attempt (lambdas/results/store.py)
    "SET #status = :running, #attempt_started = :n, #index = :index, #name = :name, "
    "#action = :action, #started_at = if_not_exists(#started_at, :started), "
    "#attempts = if_not_exists(#attempts, :zero), #expires_at = :expires"
)
CLAIM_NAMES = {f"#{name}": name for name in ("status", "attempt_started", "index", "name",
               "action", "started_at", "attempts", "expires_at")}  # fmt: skip


def _claim(index: int, attempt: int, **extra: Any) -> dict[str, Any]:
    return {
        "TableName": TABLE,
        "Key": _step(index),
        "UpdateExpression": CLAIM,
        "ConditionExpression": "attribute_not_exists(#attempt_started) OR #attempt_started < :n",
        "ExpressionAttributeNames": CLAIM_NAMES,
        "ExpressionAttributeValues": {
            ":running": {"S": "running"},
            ":n": {"N": str(attempt)},
            ":index": {"N": str(index)},
            ":name": {"S": f"post {index}"},
            ":action": {"S": "http"},
            ":started": {"S": "2026-11-30T05:45:59.473Z"},
            ":zero": {"N": "0"},
            ":expires": {"N": "1798609559"},
        },
        **extra,
    }


CLAIM_CONDITION = "attribute_not_exists(#attempt_started) OR #attempt_started < :attempt_started"


def _put_claim(index: int, attempt: int, **extra: Any) -> dict[str, Any]:
    """The engine's claim of a step's first attempt: a conditional PutItem."""
    item = {**_step(index), "status": {"S": "running"}, "attempt_started": {"N": str(attempt)},
            "index": {"N": str(index)}, "name": {"S": f"post {index}"}, "action": {"S": "http"},
            "started_at": {"S": "2026-11-30T08:44:00.945Z"}, "attempts": {"N": "0"}}  # fmt: skip
    return {
        "TableName": TABLE,
        "Item": item,
        "ConditionExpression": CLAIM_CONDITION,
        "ExpressionAttributeNames": {"#attempt_started": "attempt_started"},
        "ExpressionAttributeValues": {":attempt_started": {"N": str(attempt)}},
        **extra,
    }


def _query(**extra: Any) -> dict[str, Any]:
    """A query of the run's partition (the engine's and the CLI's reads)."""
    values = {":pk": {"S": "run-1"}, **extra.pop("values", {})}
    return {"TableName": TABLE, "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": values, **extra}  # fmt: skip


def _sized(extra_bytes: int) -> dict[str, Any]:
    """Step 7 as an item of 405,000 bytes (moto's limit) and `extra_bytes` more, counted in
    nested sets, maps, lists, numbers and two-byte characters."""
    # keys 7 + 11; m: 1 + 1 + N; ns: 2 + 5; l: 1 + 2; t: 1 + 1; u: 1 + 4; bs: 2 + 3
    fill = 405_000 - 42 + extra_bytes
    return {"TableName": TABLE, "Item": {
        **_step(7), "m": {"M": {"k": {"SS": ["x" * fill]}}}, "ns": {"NS": ["12345"]},
        "l": {"L": [{"S": "ab"}]}, "t": {"BOOL": True}, "u": {"S": "éé"},
        "bs": {"BS": ["YWJj"]}}}  # fmt: skip


POLL = (
    "query the newest step (the CLI's poll)",
    "Query",
    {
        "TableName": TABLE,
        "Limit": 1,
        "ConsistentRead": True,
        "ScanIndexForward": False,
        "ProjectionExpression": "sk, #status, #name, attempts",
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :step)",
        "ExpressionAttributeNames": {"#status": "status", "#name": "name"},
        "ExpressionAttributeValues": {":pk": {"S": "run-1"}, ":step": {"S": "step#"}},
    },
)


def _update(expression: str, values: dict[str, Any] | None = None, **extra: Any) -> dict:
    body: dict[str, Any] = {"TableName": TABLE, "Key": RUN, "UpdateExpression": expression}
    if values:
        body["ExpressionAttributeValues"] = values
    return {**body, **extra}


OTHER = "run-2"  # a partition of plain items only (text, numbers, booleans), as the engine writes


def _plain(index: int, **attributes: Any) -> dict[str, Any]:
    """A PutItem of a plain item of the other run (PutItem's and Query's direct paths)."""
    item = {"pk": {"S": OTHER}, "sk": {"S": f"step#{index:04d}"}, "n": {"N": "-1.50e3"},
            "ok": {"BOOL": False}, "s": {"S": "é"}, **attributes.pop("item", {})}  # fmt: skip
    return {"TableName": TABLE, "Item": item, **attributes}


def _other_key(index: int) -> dict[str, Any]:
    return {"pk": {"S": OTHER}, "sk": {"S": f"step#{index:04d}"}}


def _other(**extra: Any) -> dict[str, Any]:
    """A Query of the other run's partition."""
    values = {":pk": {"S": OTHER}, **extra.pop("values", {})}
    return {"TableName": TABLE, "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": values, **extra}  # fmt: skip


# fmt: off
SESSION: list[tuple[str, str, dict[str, Any]]] = [
    ("put every type", "PutItem", {"TableName": TABLE, "Item": {
        **RUN, "s": {"S": "text é"}, "n": {"N": "12.50"}, "e": {"N": "1e3"}, "b": {"B": BLOB},
        "sets": {"M": {"ss": {"SS": ["x"]}, "ns": {"NS": ["-1e3"]}, "bs": {"BS": [BLOB]},
                       "b": {"B": BLOB}, "l": {"L": [{"SS": ["y"]}, {"BS": [BLOB]}]}}},
        "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [BLOB]},
        "m": {"M": {"inside": {"S": "x"}, "deep": {"M": {"l": {"L": [{"N": "1"}, {"B": BLOB}]}}}}},
        "l": {"L": [{"S": "zero"}, {"M": {"k": {"BOOL": True}}}, {"NULL": True}]},
        "empty_l": {"L": []}, "empty_m": {"M": {}}, "off": {"BOOL": False},
        "nothing": {"NULL": True},
        "steps": {"L": [{"S": f"post {i}"} for i in range(50)]},
    }}),
    ("get all", "GetItem", {"TableName": TABLE, "Key": RUN, "ConsistentRead": True}),
    ("get projected (the engine's read)", "GetItem", {
        "TableName": TABLE, "Key": RUN, "ConsistentRead": True,
        "ProjectionExpression": "#a0, #a1, #a2",
        "ExpressionAttributeNames": {"#a0": "s", "#a1": "steps", "#a2": "missing"}}),
    ("get top-level values", "GetItem", {
        "TableName": TABLE, "Key": RUN, "ProjectionExpression": "e, n, #s, off, s, #m",
        "ExpressionAttributeNames": {"#s": "sk", "#m": "absent"}}),
    ("get top-level values and a null", "GetItem", {
        "TableName": TABLE, "Key": RUN, "ProjectionExpression": "e, nothing, off"}),
    ("get nested paths", "GetItem", {
        "TableName": TABLE, "Key": RUN, "ProjectionExpression": "m.deep.l[1], l[1].k, b, ns"}),
    ("get a list element beyond its end", "GetItem", {
        "TableName": TABLE, "Key": RUN, "ProjectionExpression": "l[7]"}),
    ("get with capacity", "GetItem", {
        "TableName": TABLE, "Key": RUN, "ReturnConsumedCapacity": "TOTAL"}),
    ("get a missing item", "GetItem", {"TableName": TABLE, "Key": _step(99)}),
    ("get from a missing table", "GetItem", {"TableName": "nope", "Key": RUN}),
    ("get with a wrong key", "GetItem", {"TableName": TABLE, "Key": {"pk": {"S": "run-1"}}}),
    ("get with an unused name", "GetItem", {
        "TableName": TABLE, "Key": RUN, "ProjectionExpression": "s",
        "ExpressionAttributeNames": {"#unused": "x"}}),
    ("claim a step (new item)", "UpdateItem", _claim(0, 1)),
    ("claim it again: condition fails", "UpdateItem", _claim(0, 1)),
    ("claim it again, old values asked", "UpdateItem",
     _claim(0, 1, ReturnValuesOnConditionCheckFailure="ALL_OLD")),
    ("claim the next attempt, all new", "UpdateItem", _claim(0, 2, ReturnValues="ALL_NEW")),
    ("claim, updated new", "UpdateItem", _claim(0, 3, ReturnValues="UPDATED_NEW")),
    ("claim, updated old", "UpdateItem", _claim(0, 4, ReturnValues="UPDATED_OLD")),
    ("claim, all old, capacity", "UpdateItem",
     _claim(0, 5, ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL")),
    ("claim in a missing table", "UpdateItem", {**_claim(1, 1), "TableName": "nope"}),
    ("update every kind of action", "UpdateItem", _update(
        "SET s = :s, l = list_append(l, :more), m.inside = :s, n = n + :one, "
        "fresh = if_not_exists(fresh, :s) REMOVE nothing, l[0] ADD ns :ns, tally :one "
        "DELETE ss :gone",
        {":s": {"S": "new"}, ":more": {"L": [{"N": "3"}]}, ":one": {"N": "1"},
         ":ns": {"NS": ["7"]}, ":gone": {"SS": ["a"]}}, ReturnValues="ALL_NEW")),
    ("update: two SET clauses", "UpdateItem", _update("SET a = :v SET b = :v", {":v": {"S": "x"}})),
    ("update: two ADD clauses", "UpdateItem", _update("ADD c :n ADD d :n", {":n": {"N": "1"}})),
    ("update: two REMOVE clauses", "UpdateItem", _update("REMOVE a REMOVE b")),
    ("update: a path twice", "UpdateItem", _update("SET a = :v, a = :w",
                                                   {":v": {"S": "x"}, ":w": {"S": "y"}})),
    ("update: overlapping paths", "UpdateItem", _update("SET m.inside = :v REMOVE m",
                                                        {":v": {"S": "x"}})),
    ("update: a name twice", "UpdateItem", _update(
        "SET #a = :v, #b = :v", {":v": {"S": "x"}},
        ExpressionAttributeNames={"#a": "same", "#b": "same"})),
    ("update: overlap and two SET clauses", "UpdateItem", _update(
        "SET a = :v, a.b = :v SET c = :v", {":v": {"S": "x"}})),
    ("update: an unused value", "UpdateItem", _update(
        "SET a = :v", {":v": {"S": "x"}, ":unused": {"S": "y"}})),
    ("update: the key", "UpdateItem", _update("SET sk = :v", {":v": {"S": "x"}})),
    ("update: a syntax error", "UpdateItem", _update("SET = :v", {":v": {"S": "x"}})),
    ("update: a missing attribute", "UpdateItem", _update("SET a = nope + :one",
                                                          {":one": {"N": "1"}})),
    ("update: a type mismatch", "UpdateItem", _update("SET s = s + :one", {":one": {"N": "1"}})),
    ("put a step over its claim", "PutItem", {"TableName": TABLE, "Item": {
        **_step(0), "status": {"S": "passed"}, "result_json": {"S": "{\"n\": 0}"}}}),
    ("put only if absent: fails", "PutItem", {
        "TableName": TABLE, "Item": RUN, "ConditionExpression": "attribute_not_exists(pk)"}),
    ("put only if absent: fails, old values asked", "PutItem", {
        "TableName": TABLE, "Item": _step(0), "ConditionExpression": "attribute_not_exists(pk)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    ("put, old values back", "PutItem", {
        "TableName": TABLE, "Item": {**_step(0), "status": {"S": "failed"}},
        "ReturnValues": "ALL_OLD"}),
    ("put an item of the largest size", "PutItem", {"TableName": TABLE, "Item": {
        **_step(5), "a": {"S": "x" * 200_000}, "b": {"S": "y" * 204_980}}}),
    ("put an item a byte larger", "PutItem", {"TableName": TABLE, "Item": {
        **_step(6), "a": {"S": "x" * 200_000}, "b": {"S": "y" * 204_981}}}),
    ("update an item beyond the size", "UpdateItem", {
        "TableName": TABLE, "Key": _step(0), "UpdateExpression": "SET big = :big",
        "ExpressionAttributeValues": {":big": {"S": "z" * 405_000}}}),
    ("put an item of the largest size, nested", "PutItem", _sized(0)),
    ("put an item a byte larger, nested", "PutItem", _sized(1)),
    ("get the largest item, nested", "GetItem", {"TableName": TABLE, "Key": _step(7),
                                                 "ProjectionExpression": "m.k, l[0], bs"}),
    ("delete it, old values back", "DeleteItem", {
        "TableName": TABLE, "Key": _step(7), "ReturnValues": "ALL_OLD"}),
    ("claim a step by a put (new item)", "PutItem", _put_claim(3, 1)),
    ("claim it again by a put: fails, old values back", "PutItem",
     _put_claim(3, 1, ReturnValuesOnConditionCheckFailure="ALL_OLD")),
    ("claim it again by a put: fails", "PutItem", _put_claim(3, 1)),
    ("claim its next attempt by a put", "PutItem",
     _put_claim(3, 2, ReturnValuesOnConditionCheckFailure="ALL_OLD")),
    ("claim by a put: a name unused", "PutItem", {
        **_put_claim(4, 1), "ExpressionAttributeNames": {"#attempt_started": "attempt_started",
                                                         "#unused": "x"}}),
    ("claim by a put: a value missing", "PutItem", {
        **_put_claim(4, 1), "ExpressionAttributeValues": {":other": {"N": "1"}}}),
    ("claim by a put: a value missing, again", "PutItem", {
        **_put_claim(4, 1), "ExpressionAttributeValues": {":other": {"N": "1"}}}),
    ("claim by a put: a syntax error", "PutItem", {
        **_put_claim(4, 1), "ConditionExpression": "attribute_not_exists(#attempt_started) OR"}),
    ("claim by a put: a binary value", "PutItem", {
        **_put_claim(4, 1), "ConditionExpression": "#attempt_started <> :b",
        "ExpressionAttributeValues": {":b": {"B": BLOB}}}),
    ("settle the run (the engine's last update)", "UpdateItem", _update(
        "SET #status = :status, ended_at = :ended",
        {":status": {"S": "passed"}, ":ended": {"S": "2026-11-30T08:44:02.691Z"},
         ":running": {"S": "running"}},
        ConditionExpression="attribute_not_exists(#status) OR #status = :running",
        ExpressionAttributeNames={"#status": "status"})),
    ("settle it again: fails", "UpdateItem", _update(
        "SET #status = :status, ended_at = :ended",
        {":status": {"S": "failed"}, ":ended": {"S": "2026-11-30T08:44:03.000Z"},
         ":running": {"S": "running"}},
        ConditionExpression="attribute_not_exists(#status) OR #status = :running",
        ExpressionAttributeNames={"#status": "status"},
        ReturnValuesOnConditionCheckFailure="ALL_OLD")),
    ("put a plain item", "PutItem", _plain(1)),
    ("put a plain item over it", "PutItem", _plain(1, item={"n": {"N": "7"}, "t": {"S": ""}})),
    ("put a plain item only if absent", "PutItem", _plain(
        2, ConditionExpression="attribute_not_exists(pk)")),
    ("put a plain item if a number is smaller", "PutItem", _plain(
        2, ConditionExpression="#n < :n", ExpressionAttributeNames={"#n": "n"},
        ExpressionAttributeValues={":n": {"N": "0"}})),
    ("put a plain item if a number is smaller: fails", "PutItem", _plain(
        2, ConditionExpression="#n < :n", ExpressionAttributeNames={"#n": "n"},
        ExpressionAttributeValues={":n": {"N": "-1e9"}},
        ReturnValuesOnConditionCheckFailure="ALL_OLD")),
    ("put a plain item, old values back", "PutItem", _plain(2, ReturnValues="ALL_OLD")),
    ("put a plain item, capacity", "PutItem", _plain(3, ReturnConsumedCapacity="TOTAL")),
    ("put a plain item, capacity none", "PutItem", _plain(3, ReturnConsumedCapacity="NONE")),
    ("put a plain item: a number moto refuses", "PutItem", _plain(4, item={"n": {"N": "1x"}})),
    ("put a plain item: a number with a space", "PutItem", _plain(4, item={"n": {"N": " 1"}})),
    ("put a plain item: a number too large", "PutItem", _plain(4, item={"n": {"N": "1e126"}})),
    ("put a plain item: a number too small", "PutItem", _plain(4, item={"n": {"N": "1e-131"}})),
    ("put a plain item: a key of another type", "PutItem", _plain(4, item={"pk": {"N": "2"}})),
    ("put a plain item: an empty sort key", "PutItem", _plain(4, item={"sk": {"S": ""}})),
    ("put a plain item: a sort key too long", "PutItem",
     _plain(4, item={"sk": {"S": "k" * 1025}})),
    ("put a plain item: a sort key the longest", "PutItem",
     _plain(4, item={"sk": {"S": "k" * 1024}})),
    ("put a plain item: no sort key", "PutItem",
     {"TableName": TABLE, "Item": {"pk": {"S": OTHER}}}),
    ("put a plain item: too large", "PutItem", _plain(4, item={"big": {"S": "b" * 405_000}})),
    ("put a plain item: a name unused", "PutItem", _plain(
        4, ExpressionAttributeNames={"#n": "n"})),
    ("put a plain item: values empty", "PutItem", _plain(
        4, ConditionExpression="attribute_not_exists(pk)", ExpressionAttributeValues={})),
    ("put a plain item: a value without its colon", "PutItem", _plain(
        4, ConditionExpression="n < n", ExpressionAttributeValues={"n": {"N": "1"}})),
    ("put a plain item: an empty condition", "PutItem", _plain(4, ConditionExpression="")),
    ("put a plain item: a missing table", "PutItem", {**_plain(4), "TableName": "nope"}),
    ("query the other run", "Query", _other(ConsistentRead=True)),
    ("query the other run, newest first", "Query", _other(ScanIndexForward=False, Limit=2)),
    ("query the other run's newest from the run on (the CLI's poll)", "Query", _other(
        KeyConditionExpression="pk = :pk AND sk >= :sk", ScanIndexForward=False, Limit=1,
        ProjectionExpression="sk, #s, #n, attempts",
        ExpressionAttributeNames={"#s": "status", "#n": "name"},
        values={":sk": {"S": "run"}})),
    ("query the other run, a page", "Query", _other(Limit=1)),
    ("query the other run, the last page", "Query", _other(Limit=3)),
    ("query the other run, numbers projected", "Query", _other(ProjectionExpression="n, ok, s")),
    ("query the other run, below a key", "Query", _other(
        KeyConditionExpression="pk = :pk AND sk < :sk", values={":sk": {"S": "step#0002"}})),
    ("query the other run, between keys", "Query", _other(
        KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
        values={":a": {"S": "step#0002"}, ":b": {"S": "step#9"}})),
    ("query the other run, capacity", "Query", _other(ReturnConsumedCapacity="TOTAL")),
    ("query the other run: a key of another type", "Query", _other(values={":pk": {"N": "2"}})),
    ("query the other run: a sort key of another type", "Query", _other(
        KeyConditionExpression="pk = :pk AND sk > :sk", values={":sk": {"N": "2"}})),
    ("query the other run: a condition on another attribute", "Query", _other(
        KeyConditionExpression="pk = :pk AND n > :n", values={":n": {"N": "2"}})),
    ("query the other run: no key condition", "Query", {
        "TableName": TABLE, "ExpressionAttributeValues": {":pk": {"S": OTHER}}}),
    ("query the other run: an empty projection", "Query", _other(ProjectionExpression="")),
    ("query the other run: a projection twice", "Query", _other(ProjectionExpression="n, n")),
    ("query the other run: a value unused", "Query", _other(values={":x": {"S": "x"}})),
    ("query the other run: a value missing", "Query", _other(
        KeyConditionExpression="pk = :pk AND sk > :nope")),
    ("query the other run: a table missing", "Query", {**_other(), "TableName": "nope"}),
    ("batch get the other run's items", "BatchGetItem", {"RequestItems": {TABLE: {
        "Keys": [_other_key(2), _other_key(9), _other_key(1)], "ConsistentRead": True}}}),
    ("batch get the other run's items, projected", "BatchGetItem", {"RequestItems": {TABLE: {
        "Keys": [_other_key(1)], "ProjectionExpression": "sk, #n, ok",
        "ExpressionAttributeNames": {"#n": "n"}}}, "ReturnConsumedCapacity": "TOTAL"}),
    ("batch get the other run's items: a key of another type", "BatchGetItem", {"RequestItems": {
        TABLE: {"Keys": [{"pk": {"S": OTHER}, "sk": {"N": "1"}}]}}}),
    ("batch get the other run's items: a key twice", "BatchGetItem", {"RequestItems": {TABLE: {
        "Keys": [_other_key(1), _other_key(1)]}}}),
    ("batch get the other run's items: a key with more", "BatchGetItem", {"RequestItems": {
        TABLE: {"Keys": [{**_other_key(1), "n": {"N": "1"}}]}}}),
    ("batch get the other run's items: a key with less", "BatchGetItem", {"RequestItems": {
        TABLE: {"Keys": [{"pk": {"S": OTHER}}]}}}),
    ("batch get the other run's items: too many", "BatchGetItem", {"RequestItems": {TABLE: {
        "Keys": [_other_key(i) for i in range(101)]}}}),
    ("batch get the other run's items: a name unused", "BatchGetItem", {"RequestItems": {TABLE: {
        "Keys": [_other_key(1)], "ExpressionAttributeNames": {"#n": "n"}}}}),
    ("batch get the other run's items: and a missing table", "BatchGetItem", {"RequestItems": {
        TABLE: {"Keys": [_other_key(1)]}, "nope": {"Keys": [_other_key(1)]}}}),
    ("batch get the other run's items: attributes to get", "BatchGetItem", {"RequestItems": {
        TABLE: {"Keys": [_other_key(1)], "AttributesToGet": ["n"]}}}),
    ("delete the other run's item", "DeleteItem", {"TableName": TABLE, "Key": {
        "pk": {"S": OTHER}, "sk": {"S": "step#0001"}}}),
    ("delete the other run's next item", "DeleteItem", {"TableName": TABLE, "Key": {
        "pk": {"S": OTHER}, "sk": {"S": "step#0002"}}}),
    ("delete the other run's last item", "DeleteItem", {"TableName": TABLE, "Key": {
        "pk": {"S": OTHER}, "sk": {"S": "step#0003"}}}),
    ("delete the other run's item of a large number", "DeleteItem", {"TableName": TABLE, "Key": {
        "pk": {"S": OTHER}, "sk": {"S": "step#0004"}}}),
    ("delete the other run's longest key", "DeleteItem", {"TableName": TABLE, "Key": {
        "pk": {"S": OTHER}, "sk": {"S": "k" * 1024}}}),
    ("put an empty key", "PutItem", {"TableName": TABLE, "Item": {
        "pk": {"S": ""}, "sk": {"S": "x"}}}),
    ("batch get, projected", "BatchGetItem", {"RequestItems": {TABLE: {
        "Keys": [_step(0), RUN, _step(42)], "ConsistentRead": True,
        "ProjectionExpression": "sk, #s, steps", "ExpressionAttributeNames": {"#s": "status"}}}}),
    ("batch get, whole items", "BatchGetItem", {"RequestItems": {TABLE: {"Keys": [_step(0)]}}}),
    ("batch get, duplicate keys", "BatchGetItem", {"RequestItems": {TABLE: {
        "Keys": [_step(0), _step(0)]}}}),
    ("batch get, missing table", "BatchGetItem", {"RequestItems": {"nope": {"Keys": [RUN]}}}),
    ("batch write", "BatchWriteItem", {"RequestItems": {TABLE: [
        {"PutRequest": {"Item": {**_step(1), "status": {"S": "passed"}}}},
        {"PutRequest": {"Item": {**_step(2), "status": {"S": "failed"}}}},
        {"DeleteRequest": {"Key": _step(3)}}]}}),
    POLL,
    ("query a run", "Query", {
        "TableName": TABLE, "ConsistentRead": True, "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "run-1"}}}),
    ("query a page", "Query", {
        "TableName": TABLE, "Limit": 2, "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "run-1"}}, "ReturnConsumedCapacity": "TOTAL"}),
    ("query with a filter", "Query", {
        "TableName": TABLE, "KeyConditionExpression": "pk = :pk",
        "FilterExpression": "#status = :passed", "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":pk": {"S": "run-1"}, ":passed": {"S": "passed"}}}),
    ("query a run, newest first", "Query", _query(ConsistentRead=True, ScanIndexForward=False)),
    ("query the first item, projected", "Query", _query(
        Limit=1, ProjectionExpression="#n, sets.l[1], attempts",
        ExpressionAttributeNames={"#n": "name"})),
    ("query steps from a key on", "Query", _query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :step)", Limit=2,
        ExclusiveStartKey=_step(0), values={":step": {"S": "step#"}})),
    ("query steps back from a key", "Query", _query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :step)", Limit=2,
        ScanIndexForward=False, ExclusiveStartKey=_step(3), values={":step": {"S": "step#"}})),
    ("query a range, projected and filtered", "Query", _query(
        KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
        FilterExpression="attribute_exists(#s)", ProjectionExpression="sk, #s",
        ExpressionAttributeNames={"#s": "status"},
        values={":a": {"S": "step#0001"}, ":b": {"S": "step#0009"}})),
    ("query no step", "Query", _query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :none)", Limit=1,
        values={":none": {"S": "none#"}})),
    ("query a missing partition", "Query", _query(values={":pk": {"S": "run-2"}})),
    ("query with a name unused", "Query", _query(ExpressionAttributeNames={"#x": "x"})),
    ("query a missing table", "Query", {
        "TableName": "nope", "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "run-1"}}}),
    ("scan a page", "Scan", {"TableName": TABLE, "Limit": 2}),
    ("delete, old values back", "DeleteItem", {
        "TableName": TABLE, "Key": _step(2), "ReturnValues": "ALL_OLD"}),
    ("delete the largest item", "DeleteItem", {"TableName": TABLE, "Key": _step(5)}),
    ("query the newest step again", *POLL[1:]),
    ("delete a missing item", "DeleteItem", {"TableName": TABLE, "Key": _step(77)}),
    ("delete if passed: fails", "DeleteItem", {
        "TableName": TABLE, "Key": _step(0), "ConditionExpression": "#s = :passed",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":passed": {"S": "passed"}},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    ("transact update", "TransactWriteItems", {"TransactItems": [{"Update": {
        "TableName": TABLE, "Key": _step(1), "UpdateExpression": "SET #s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "cleaned"}}}}]}),
    ("transact: a condition fails, all undone", "TransactWriteItems", {"TransactItems": [
        {"Update": {"TableName": TABLE, "Key": _step(1), "UpdateExpression": "SET #s = :s",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "undone"}}}},
        {"ConditionCheck": {"TableName": TABLE, "Key": _step(0),
                            "ConditionExpression": "attribute_not_exists(sk)"}}]}),
    ("the table at the end", "Scan", {"TableName": TABLE, "ConsistentRead": True}),
]
# fmt: on

Answer = tuple[int, str | None, str | None, bytes]

DIRECT = ("PutItem", "Query", "BatchGetItem")  # what cli/local/dynamodb_direct.py may answer
WRITTEN_AS_IS = {  # answers of plain items it writes itself (dynamodb_json dumps them as they are)
    "query a missing partition", "query no step", POLL[0], "query the newest step again",
    "batch get, whole items", "query the other run", "query the other run, newest first",
    "query the other run's newest from the run on (the CLI's poll)",
    "query the other run, a page", "query the other run, the last page",
    "query the other run, numbers projected", "query the other run, below a key",
    "query the other run, between keys", "query the other run: a value unused",
    "batch get the other run's items", "batch get the other run's items, projected",
    "batch get the other run's items: a key of another type",
}  # fmt: skip
ANSWERED_DIRECTLY = WRITTEN_AS_IS | {  # the rest by moto's own handler
    "claim a step by a put (new item)", "claim its next attempt by a put",
    "put a step over its claim", "put a plain item", "put a plain item over it",
    "put a plain item only if absent", "put a plain item if a number is smaller",
    "put a plain item, capacity none", "put a plain item: a number too large",
    "put a plain item: a sort key the longest", "put an item of the largest size",
    "query a run", "query a run, newest first", "query the first item, projected",
    "batch get, projected",
}  # fmt: skip


def _session(fast: bool, direct: list[str | None] | None = None) -> list[Answer]:
    """Every request of SESSION answered by a new local AWS, with or without the fast paths;
    `direct` gets, for each of the DIRECT requests in turn, the kind of answer
    dynamodb_direct gave (None: moto's handler answered)."""
    with pytest.MonkeyPatch.context() as mp:
        if not fast:
            mp.setattr(dynamodb_fast, "install", lambda: lambda: None)
        for name in ("_put_item", "_query", "_batch_get_item"):
            mp.setattr(dynamodb_direct, name, _recorded(getattr(dynamodb_direct, name), direct))
        with local_aws() as aws:
            create_pk_sk_table(aws.client("dynamodb"), TABLE)
            host, port = aws.endpoint_url.removeprefix("http://").split(":")
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            try:
                return [_send(connection, aws, target, body) for _, target, body in SESSION]
            finally:
                connection.close()


def _recorded(answer: Any, direct: list[str | None] | None) -> Any:
    def recorded(handler: Any) -> Any:
        answered = answer(handler)
        if direct is not None:
            direct.append(None if answered is None else type(answered).__name__)
        return answered

    return recorded


def _send(
    connection: http.client.HTTPConnection, aws: LocalAws, target: str, body: dict[str, Any]
) -> Answer:
    response = dynamodb_request(connection, aws, target, body)
    return (
        response.status,
        response.getheader("X-Amzn-Errortype"),
        response.getheader("x-amz-crc32"),
        response.read(),
    )


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Answer]]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ITEST_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        direct: list[str | None] = []
        yield {"moto": _session(fast=False), "fast": _session(fast=True, direct=direct),
               "direct": direct}  # fmt: skip


@pytest.mark.parametrize("index", range(len(SESSION)), ids=[name for name, _, _ in SESSION])
def test_the_fast_paths_answer_as_moto(answers: dict[str, list[Answer]], index: int) -> None:
    assert answers["fast"][index] == answers["moto"][index]


def test_the_session_covers_successes_and_errors(answers: dict[str, list[Answer]]) -> None:
    statuses = [status for status, _, _, _ in answers["moto"]]
    errors = {error.rpartition("#")[2] for _, error, _, _ in answers["moto"] if error}
    assert statuses.count(200) >= 25 and statuses.count(400) >= 20
    assert errors == {"ConditionalCheckFailedException", "ResourceNotFoundException",
                      "TransactionCanceledException", "ValidationException"}  # fmt: skip
    table = json.loads(answers["moto"][-1][3])
    assert table["Count"] == 4  # the run, steps 0, 1 and 4 (2, 3, 5 and 7 deleted)
    assert table["Items"][2]["status"] == {"S": "cleaned"}  # the cancelled transaction undone


def test_the_engines_requests_are_answered_directly(answers: dict[str, Any]) -> None:
    asked = [name for name, target, _ in SESSION if target in DIRECT]
    kinds = dict(zip(asked, answers["direct"], strict=True))
    assert {name for name, kind in kinds.items() if kind} == ANSWERED_DIRECTLY
    assert {name for name, kind in kinds.items() if kind == "Written"} == WRITTEN_AS_IS


@pytest.mark.parametrize(
    ("operation", "result"),
    [
        ("GetItem", {"Item": {"a": {"S": "x"}}, "item": {}}),  # a key moto would read first
        ("GetItem", {"Item": {"a": {"L": [], "ListAttributeValue": [{"S": "x"}]}}}),
        ("Query", {"Items": [], "ItemList": []}),
        ("GetItem", {"Item": {"a": object()}}),  # not a dict: moto picks its attributes
    ],
)
def test_an_answer_the_compiled_walk_cannot_copy_is_left_to_moto(
    operation: str, result: dict[str, Any]
) -> None:
    from moto.core.utils import get_service_model

    model = get_service_model("dynamodb").operation_model(operation)
    assert dynamodb_json.serialize(model, result) is None


def test_items_are_not_tracked_for_their_life() -> None:
    from moto.dynamodb.models.dynamo_type import Item

    undo = dynamodb_fast._items_untracked()
    try:
        tracked = len(Item.instances_tracked)
        item = Item(None, None, {"a": {"S": "x"}})
        assert len(Item.instances_tracked) == tracked and item.attrs["a"].value == "x"
    finally:
        undo()
    Item(None, None, {})
    assert len(Item.instances_tracked) == tracked + 1  # moto's own again
