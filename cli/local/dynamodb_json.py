"""JSON-protocol answers (DynamoDB's, Step Functions') written as moto's model-driven
serializer writes them, in a tenth of its time.

moto 5.2 writes every DynamoDB answer by walking the botocore output shape and,
for each member of each structure (each attribute value of each item: S, N,
B, SS, ... are members), asking a chain of "alias providers" which key of the
Python result holds it. That walk was about a third of the local AWS's
DynamoDB time. Here each output shape is compiled once into a function that
does the same walk over plain dicts and lists: the same members in the same
order, the same conversions (strings, base64 blobs, ints, floats), hence the
same JSON text. A timestamp is converted by moto's own `TimestampSerializer`.
Step Functions' answers (ListExecutions with every running execution,
DescribeExecution...) take the same walk (cli/local/stepfunctions_answers.py).

The compiled walk covers only what it can copy exactly; anything else (an
object instead of a dict, a key that an alias provider would read before the
member's own name, a response transformer, pretty printing) is left to moto's
serializer: `serialize` and `answer` then return None.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from enum import Enum
from typing import Any

from botocore import xform_name
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

UNSET = object()  # what a structure serializes to when its value is None: nothing
Compiled = Callable[[Any], Any]
Answering = tuple[Compiled, int, str]  # the compiled walk, the status, the Content-Type


class NotPlain(Exception):
    """The value needs moto's own serializer."""


def install(
    response_class: Any, plain_results: tuple[type, ...], written: tuple[type, ...] = ()
) -> Callable[[], None]:
    """Answer `response_class`'s results (of the `plain_results` types) with the compiled
    walk when it can copy moto's serializer, and those of the `written` types (already
    what the walk writes) as they are; return the function that undoes it."""
    serialized = response_class.serialized

    def serialized_(self: Any, action_result: Any) -> Any:
        kind = type(action_result)
        if kind in plain_results or kind in written:
            written_answer = answer(self, action_result.result, as_is=kind in written)
            if written_answer is not None:
                return written_answer
        return serialized(self, action_result)


    response_class.serialized = serialized_
    return lambda: setattr(response_class, "serialized", serialized)


def answer(
    handler: Any, result: Any, as_is: bool = False
) -> tuple[int, dict[str, str], str] | None:
    """What moto's `handler.serialized(ActionResult(result))` returns (status, headers,
    body) for an answer of the JSON protocol, or None when only moto's serializer can tell
    (an error, another protocol, a response transformer, pretty printing...). `as_is`:
    `result` is what the compiled walk would make of it."""
    from moto import settings

    if (
        isinstance(result, Exception)
        or settings.PRETTIFY_RESPONSES
        or handler.RESPONSE_KEY_PATH_TO_TRANSFORMER
    ):
        return None
    content_type = handler.headers.get("Content-Type", "")
    how = _answering(handler.boto3_service_name, content_type, handler._get_action())
    if how is None:
        return None
    compiled, status, answer_type = how
    body = json.dumps(result) if as_is else _written(compiled, result)
    if body is None:
        return None
    headers = {"Content-Type": answer_type}
    headers.update(handler.response_headers)
    return status, headers, body


@functools.lru_cache(maxsize=512)
def _answering(service_name: str, content_type: str, action: str) -> Answering | None:
    """How an answer to `action` asked with `content_type` is written (None: not by the
    compiled walk): what moto's `serialized` looks up for each answer, looked up once.
    The protocol depends on the content type alone unless it is `query` (not JSON)."""
    from moto.core.request import determine_request_protocol
    from moto.core.utils import get_service_model

    service = get_service_model(service_name)
    if determine_request_protocol(service, content_type) != "json":
        return None
    operation = service.operation_model(action)
    compiled = _compiled_output(operation)
    if compiled is None:
        return None
    version = service.metadata.get("jsonVersion", "1.0")
    status = operation.http.get("responseCode", 200)
    return compiled, status, f"application/x-amz-json-{version}"


def serialize(operation: OperationModel, result: Any) -> str | None:
    """The JSON body moto's serializer writes for `result`, the answer to `operation`,
    or None when only moto's serializer can tell."""
    compiled = _compiled_output(operation)
    return None if compiled is None else _written(compiled, result)


def _written(compiled: Compiled, result: Any) -> str | None:
    try:
        return json.dumps({} if (body := compiled(result)) is UNSET else body)
    except (NotPlain, TypeError, ValueError):  # moto's serializer says what is wrong
        return None


_outputs: dict[int, tuple[OperationModel, Compiled | None]] = {}


def _compiled_output(operation: OperationModel) -> Compiled | None:
    kept = _outputs.get(id(operation))
    if kept is None or kept[0] is not operation:
        shape = operation.output_shape
        compiled = None
        if isinstance(shape, StructureShape) and not operation.has_event_stream_output:
            try:
                compiled = _compile(shape, {})
            except NotPlain:
                compiled = None
        kept = _outputs[id(operation)] = (operation, compiled)
    return kept[1]


def _compile(shape: Shape, done: dict[str, Compiled]) -> Compiled:
    """The function that serializes a value of `shape` (recursive shapes compile once,
    by name: the same name is the same shape within one service model)."""
    if shape.name in done:
        return done[shape.name]
    if isinstance(shape, StructureShape):
        return _structure(shape, done)
    if isinstance(shape, ListShape):
        return _list(shape, done)
    if isinstance(shape, MapShape):
        return _map(shape, done)
    if shape.type_name == "timestamp":
        return _timestamp(shape)
    return _SCALARS.get(shape.type_name, _as_is)


def _structure(shape: StructureShape, done: dict[str, Compiled]) -> Compiled:
    if shape.is_document_type:
        return _as_is
    members: list[tuple[str, str, Compiled]] = []
    by_key: dict[str, tuple[str, Compiled]] = {}
    kept_as_is: set[str] = set()  # text members written under their own key: {"S": "x"}
    aliases: set[str] = set()

    def structure(value: Any) -> Any:
        if value is None:
            return UNSET
        if type(value) is not dict or not aliases.isdisjoint(value):
            raise NotPlain
        if len(value) == 1:  # an attribute value: one of its members, the others None
            for key, picked in value.items():
                if key in kept_as_is and type(picked) is str:
                    return value  # only read, by json.dumps
                found = by_key.get(key)
                if found is None or picked is None:
                    return {}
                serialized = found[1](picked)
                return {} if serialized is UNSET else {found[0]: serialized}
        out = {}
        for key, name, member in members:
            picked = value.get(key)
            if picked is not None:
                serialized = member(picked)
                if serialized is not UNSET:
                    out[name] = serialized
        return out

    done[shape.name] = structure
    for key, member_shape in shape.members.items():
        aliases.update(alias for alias in _possible_keys(shape, key, member_shape) if alias != key)
        name = member_shape.serialization.get("name", key)
        members.append((key, name, _compile(member_shape, done)))
        by_key[key] = (name, members[-1][2])
        if name == key and members[-1][2] is _string:
            kept_as_is.add(key)
    return structure


def _possible_keys(parent: StructureShape, key: str, shape: Shape) -> list[str]:
    """The keys of a dict moto's XFormedAttributePicker tries for member `key`, in its
    order (moto.core.serialize.DEFAULT_ALIAS_PROVIDERS: a dict has no Meta class)."""
    keys = []
    named_after_its_shape = shape.type_name in ("list", "structure") and key != shape.name
    if named_after_its_shape and shape.name not in parent.members:
        keys.append(shape.name)  # ShapeNameAlias
    keys.append(key)  # NoAlias
    if key.lower().startswith(parent.name.lower()):
        short = key[len(parent.name) :]
        if short not in parent.members:
            keys.append(short)  # ShapePrefixAlias
    if key.lower().startswith("dict"):
        keys.append(key[len("dict") :])  # ClassPrefixAlias
    if shape.serialization.get("name", key) != key:
        keys.append(shape.serialization["name"])  # ModelAlias
    return [each for alias in keys for each in (alias, xform_name(alias))]


def _list(shape: ListShape, done: dict[str, Compiled]) -> Compiled:
    member_shape = shape.member
    if member_shape.serialization.get("name", member_shape.name) != member_shape.name:
        raise NotPlain  # moto would write each serialized item under a name it does not read
    member = _compile(member_shape, done)

    def list_(value: Any) -> Any:
        if type(value) is not list:
            raise NotPlain
        out = []
        for item in value:
            serialized = member(item)
            out.append(item if serialized is UNSET else serialized)
        return out

    return list_


def _map(shape: MapShape, done: dict[str, Compiled]) -> Compiled:
    if "name" in shape.value.serialization:
        raise NotPlain
    value_of = _compile(shape.value, done)

    def map_(value: Any) -> Any:
        if type(value) is not dict:
            raise NotPlain
        out = {}
        for key, item in value.items():
            serialized = value_of(item)
            if serialized is not UNSET:
                out[key] = serialized
        return out

    return map_


def _string(value: Any) -> Any:
    if type(value) is str:
        return value
    if isinstance(value, Enum):
        value = value.value
    return str(value) if value not in [None, {}, []] else value


def _blob(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif not isinstance(value, bytes | bytearray):
        raise NotPlain
    return base64.b64encode(value).strip().decode("utf-8")


def _as_is(value: Any) -> Any:
    return value


def _timestamp(shape: Shape) -> Compiled:
    """moto's JSON serializer's conversion of a timestamp (its default format: seconds)."""
    from moto.core.serialize import BaseJSONSerializer, TimestampSerializer

    timestamp_format = shape.serialization.get(
        "timestampFormat", BaseJSONSerializer.DEFAULT_TIMESTAMP_FORMAT
    )
    convert = TimestampSerializer(BaseJSONSerializer.DEFAULT_TIMESTAMP_FORMAT)
    return functools.partial(convert._convert_timestamp_to_str, timestamp_format=timestamp_format)


_SCALARS: dict[str, Compiled] = {
    "string": _string,
    "blob": _blob,
    "integer": int,
    "long": int,
    "float": float,
    "double": float,
}
