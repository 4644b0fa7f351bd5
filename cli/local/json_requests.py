"""JSON-protocol requests parsed as moto's model-driven parser parses them, by a walk
compiled once per operation.

moto parses each JSON-protocol request (DynamoDB's...) by walking the botocore
input shape and, at every value, looking up its handler by the shape's type
name (`getattr(parser, f"_parse_{type}")`): a PutItem of a step's record,
where every attribute value is a structure of its own, cost about 50 µs of the
server's CPU before the table was touched. Here each input shape is compiled
once into functions that take the same steps over the same JSON values: the
same members read under the same names, skipped when null, the same
conversions (the parser's own blob and timestamp parsers, `int`, `float`),
the same mapping type, hence the same result, and the same exception for a
value of the wrong kind. A parser of another class, or a shape whose type
has a handler this walk does not know, is left to moto.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from itest.cli.local.undo import Undo
from moto.core.parse import UNDEFINED, BaseJSONParser, JSONParser, RequestParser

Parse = Callable[[Any], Any]


class _Unknown(Exception):
    """A shape this walk does not copy: moto's parser reads it."""


def install() -> Undo:
    """Patch moto's JSON request parser; return the function that undoes it.

    Installed by cli/local/request_path.py, with moto_patches.py's version check.
    """
    original = JSONParser._do_parse

    @functools.wraps(original)
    def do_parse(self: JSONParser, request_dict: Any, shape: Any) -> Any:
        parse = _compiled(self, shape) if type(self) is JSONParser else None
        if parse is None:
            return original(self, request_dict, shape)
        return parse(self._parse_body_as_json(request_dict["body"]))

    JSONParser._do_parse = do_parse
    return lambda: setattr(JSONParser, "_do_parse", original)


_compiled_walks: dict[tuple[Any, ...], tuple[Any, Parse | None]] = {}


def _compiled(parser: Any, shape: Any) -> Parse | None:
    """The walk for `shape` with this parser's mapping type and parsers, or None."""
    if shape is None:
        return None
    key = (id(shape), parser.MAP_TYPE, parser._blob_parser, parser._timestamp_parser)
    kept = _compiled_walks.get(key)
    if kept is None or kept[0] is not shape:
        try:
            walk: Parse | None = _compile(shape, _Walker(parser), {})
        except _Unknown:
            walk = None
        kept = _compiled_walks[key] = (shape, walk)
    return kept[1]


class _Walker:
    """What a compiled walk needs of one parser configuration."""

    def __init__(self, parser: Any) -> None:
        self.map_type = parser.MAP_TYPE
        self.blob = parser._blob_parser
        self.timestamp = parser._timestamp_parser
        self.handlers = {  # moto's handler -> how this walk compiles it
            RequestParser._parse_list: _list,
            RequestParser._parse_map: _map,
            BaseJSONParser._parse_structure: _structure,
            BaseJSONParser._parse_blob: lambda shape, walker, done: walker.blob,
            BaseJSONParser._parse_timestamp: lambda shape, walker, done: walker.timestamp,
            BaseJSONParser._parse_float: lambda shape, walker, done: _float,
            BaseJSONParser._parse_integer: lambda shape, walker, done: _integer,
        }
        self.parser_class = type(parser)


def _compile(shape: Any, walker: _Walker, done: dict[str, Parse]) -> Parse:
    """The function that parses a JSON value of `shape` (a recursive shape compiles once,
    by name: within one service model a name is one shape)."""
    if shape.name in done:
        return done[shape.name]
    handler = getattr(walker.parser_class, f"_parse_{shape.type_name}", None)
    if handler is None:
        return _as_is  # moto's `_default_handle`
    make = walker.handlers.get(handler)
    if make is None:
        raise _Unknown(shape.type_name)
    return make(shape, walker, done)


def _structure(shape: Any, walker: _Walker, done: dict[str, Parse]) -> Parse:
    if shape.is_document_type:
        return _as_is
    members: list[tuple[str, str, Parse]] = []
    map_type = walker.map_type

    def structure(value: Any) -> Any:
        if value is None:
            return None
        parsed = map_type()
        for name, json_name, parse in members:
            raw = value.get(json_name)
            if raw is not None:
                parsed[name] = parse(raw)
        return parsed

    done[shape.name] = structure
    for name, member in shape.members.items():
        members.append(
            (name, member.serialization.get("name", name), _compile(member, walker, done))
        )
    return structure


def _list(shape: Any, walker: _Walker, done: dict[str, Parse]) -> Parse:
    member = _compile(shape.member, walker, done)

    def list_(node: Any) -> list[Any]:
        parsed = []
        for item in node:
            parsed.append(member(item))
        return parsed

    return list_


def _map(shape: Any, walker: _Walker, done: dict[str, Parse]) -> Parse:
    key_of, value_of, map_type = (
        _compile(shape.key, walker, done),
        _compile(shape.value, walker, done),
        walker.map_type,
    )

    def map_(value: Any) -> Any:
        parsed = map_type()
        for key, val in value.items():
            actual_key = key_of(key)
            parsed[actual_key] = value_of(val)
        return parsed

    return map_


def _float(value: Any) -> Any:
    return value if value is UNDEFINED else float(value)


def _integer(value: Any) -> Any:
    return value if value is UNDEFINED else int(value)


def _as_is(value: Any) -> Any:
    return value
