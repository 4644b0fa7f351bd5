"""Scenario text to a mapping: YAML or JSON, refusing what either cannot mean safely.

Duplicate keys, YAML anchors and aliases, nesting past :data:`MAX_DEPTH` and
values JSON cannot hold are problems of the file, reported before the model
sees it (every one with file and location, :class:`ScenarioError`).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from itest.lambdas.errors import ScenarioError
from itest.lambdas.matchers import json_type
from itest.lambdas.validation import Loc

MAX_DEPTH = 64
TOO_DEEP = f"the data nests more than {MAX_DEPTH} levels deep; a scenario needs far fewer"


def parse_document(text: str, *, source: str) -> dict[str, Any]:
    """A file's top-level mapping (YAML or JSON) before validation, as
    :func:`~itest.lambdas.scenario.loading.load_scenario` reads it (the CLI reads
    fragment files with it).

    Raises:
        ScenarioError: not YAML/JSON, or not a mapping; the file is empty.
    """
    data: Any = None

    def fail(where: str, message: str) -> ScenarioError:
        return ScenarioError([{"file": source, "location": where, "message": message}])

    if not text.strip():
        raise fail("", "the file is empty; expected a mapping with at least 'name' and 'steps'")
    is_json = source.endswith(".json")
    if is_json or text.lstrip().startswith("{"):
        try:
            data = _parse_json(text)
        except ValueError as exc:
            if is_json:
                raise fail(*exc.args) from None
            data = None  # a YAML flow mapping, perhaps: read it as YAML below
    if not is_json and data is None:
        try:
            data = _parse_yaml(text)
        except ValueError as exc:
            raise fail(*exc.args) from None
    if _depth(data) > MAX_DEPTH:
        raise fail("", TOO_DEEP)
    if data is None:
        raise fail("", "the file holds no scenario; expected a mapping with 'name' and 'steps'")
    if not isinstance(data, dict):
        kind = json_type(data)
        raise fail("", f"expected a mapping with 'name' and 'steps' at the top, got {kind}")
    return data



ALIASES_REFUSED = (
    "YAML anchors and aliases (&name, *name) are not supported: write the value out, "
    "or share it through vars"
)


@cache
def _yaml_loader() -> type:
    """A SafeLoader that rejects duplicate keys, anchors and aliases, and keeps dates
    as text (JSON has none). Built on first use: the Lambdas read JSON and need no
    yaml module."""
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            # aliases expand exponentially (a few hundred bytes, billions of nodes)
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise yaml.composer.ComposerError(None, None, ALIASES_REFUSED, event.start_mark)
            return super().compose_node(parent, index)

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        seen: list[Any] = []
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.append(key)
        return loader.construct_mapping(node, deep=True)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return Loader


def _parse_yaml(text: str) -> Any:
    """Raises:
    ValueError: (location, message) of the first YAML error.
    """
    try:
        import yaml
    except ImportError:  # a Lambda package without PyYAML: the CLI uploads JSON
        raise ValueError("", "this is YAML and PyYAML is not installed here; give JSON") from None

    try:
        return yaml.load(text, Loader=_yaml_loader())  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(where, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ValueError("", f"invalid YAML: {exc}") from None
    except RecursionError:
        raise ValueError("", TOO_DEEP) from None
    except (ValueError, TypeError, ArithmeticError) as exc:  # a constructor's, e.g. a huge int
        raise ValueError("", f"invalid YAML: {exc}") from None


def _parse_json(text: str) -> Any:
    """Raises:
    ValueError: (location, message) of the JSON error.
    """
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ValueError(where, f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise ValueError("", TOO_DEEP) from None
    except ValueError as exc:  # a duplicate key, a huge integer
        raise ValueError("", f"invalid JSON: {exc}") from None


def _depth(data: Any) -> int:
    """How deeply lists and mappings nest (without recursion: the input is untrusted)."""
    deepest, todo = 0, [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                items = value.values() if isinstance(value, dict) else value
                todo += [(item, depth + 1) for item in items]
    return deepest




def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def json_problems(data: Any, loc: Loc = ()) -> list[tuple[Loc, str]]:
    """YAML can hold what JSON cannot (binary, sets, non-text keys): reject it early."""
    if isinstance(data, dict):
        problems: list[tuple[Loc, str]] = []
        for key, value in data.items():
            if not isinstance(key, str):
                message = f"keys must be text, got {json_type(key)} {key!r} (quote it)"
                problems.append((loc, message))
                continue
            problems += json_problems(value, (*loc, key))
        return problems
    if isinstance(data, list):
        return [p for i, item in enumerate(data) for p in json_problems(item, (*loc, i))]
    if data is None or isinstance(data, str | int | float | bool):
        return []
    return [(loc, f"expected a JSON value, got {type(data).__name__}")]

