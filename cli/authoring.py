"""From a file to what the CLI runs: fragments expanded, the matrix split off.

Both are authoring features: the engine only ever receives the plain scenario
that comes out (docs/scenarios.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itest.cli import fragments, matrix
from itest.lambdas.errors import ScenarioError

if TYPE_CHECKING:
    from itest.lambdas.scenario.models import Scenario


def load_file(path: Path) -> tuple[Scenario, list[dict[str, Any]]] | None:
    """The scenario at ``path`` with its includes expanded, validated, and its matrix
    variants (``[{}]`` without a matrix); None for a fragment file (it is checked
    where it is included).

    Raises:
        ScenarioError: every problem; an included step's name their fragment.
    """
    from itest.lambdas.scenario.loading import load_scenario, load_scenario_file

    data = fragments.read(path)
    if fragments.is_fragment(data):
        return None
    data, variants = matrix.split(path, data)
    expanded = fragments.expand(path, data)
    if not expanded.origins and len(variants) == 1 and not variants[0]:
        return load_scenario_file(path), variants  # as written: the loader sees the file
    try:
        text = json.dumps(expanded.data)
    except (TypeError, ValueError):  # YAML that JSON cannot hold: let the loader say what
        return load_scenario_file(path), variants
    try:
        return load_scenario(text, source=str(path), folder=path.parent), variants
    except ScenarioError as error:
        raise fragments.explain(error, expanded, expanded.data["steps"]) from None


def authoring_schema() -> dict[str, Any]:
    """The JSON Schema of a file as people write it (``itest schema``): the engine's
    scenario plus ``matrix`` and ``include`` steps, or a fragment (``kind: fragment``)."""
    from itest.lambdas.scenario.schema import scenario_json_schema
    from itest.lambdas.validation import IDENTIFIER

    engine = scenario_json_schema()
    defs = engine.pop("$defs")
    scenario = {k: v for k, v in engine.items() if k not in ("$schema", "title")}
    step = {"anyOf": [scenario["properties"]["steps"]["items"], {"$ref": "#/$defs/Include"}]}
    scenario["properties"]["steps"]["items"] = step
    names = {"pattern": f"^{IDENTIFIER.pattern}$"}
    rows = {
        "type": "object", "required": ["rows"], "additionalProperties": False,
        "properties": {"rows": {"type": "array", "minItems": 1, "items": {
            "type": "object", "minProperties": 1, "propertyNames": names}}},
    }  # fmt: skip
    lists = {
        "type": "object", "minProperties": 1, "propertyNames": names,
        "additionalProperties": {"type": "array", "minItems": 1}, "not": {"required": ["rows"]},
    }  # fmt: skip
    scenario["properties"]["matrix"] = {
        "description": "one execution per combination: {name: [values]} or {rows: [{...}]}",
        "oneOf": [rows, lists],
    }
    defs["Scenario"] = scenario
    defs["Include"] = {
        "type": "object", "required": ["include"], "additionalProperties": False,
        "properties": {
            "include": {"type": "string", "description": "a fragment file, relative to this one"},
            "with": {"type": "object", "description": "the fragment's params"},
            "name": {"type": "string", "description": "prefix of the included steps' names"},
        },
    }  # fmt: skip
    param = {
        "type": "object", "additionalProperties": False,
        "properties": {"default": {}, "description": {"type": "string"}},
    }  # fmt: skip
    defs["Fragment"] = {
        "type": "object", "required": ["kind", "steps"], "additionalProperties": False,
        "properties": {
            "kind": {"const": "fragment"}, "description": {"type": "string"},
            "params": {"type": "object", "propertyNames": names, "additionalProperties": param},
            "steps": {"type": "array", "minItems": 1, "items": step},
        },
    }  # fmt: skip
    return {
        "$schema": engine["$schema"],
        "title": "itest scenario or fragment",
        "$defs": defs,
        "if": {"properties": {"kind": {"const": "fragment"}}, "required": ["kind"]},
        "then": {"$ref": "#/$defs/Fragment"},
        "else": {"$ref": "#/$defs/Scenario"},
    }
