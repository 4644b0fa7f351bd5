"""The JSON Schema of the scenario format (``itest schema``), actions enumerated."""

from __future__ import annotations

from typing import Any

from itest.lambdas.actions.registry import ACTIONS, FAMILIES, known_names
from itest.lambdas.scenario.models import Scenario


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario format (``itest schema``), actions enumerated."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "itest scenario"
    capture = schema["$defs"]["Step"]["properties"]["capture"]
    capture["additionalProperties"] = {  # the short form: name -> JMESPath
        "anyOf": [{"type": "string", "description": "JMESPath over the result"},
                  capture["additionalProperties"]],
    }
    names = {"enum": sorted(ACTIONS)}
    families = [{"pattern": f"^{family.names.pattern}$"} for family in FAMILIES.values()]
    for model in ("Step", "CleanupAction"):
        action = schema["$defs"][model]["properties"]["action"]
        action["anyOf"] = [names, *families]
        action["description"] = f"one of {', '.join(known_names())}"
        schema["$defs"][model]["allOf"] = [_with_keys(name) for name in sorted(ACTIONS)]
    return schema


def _with_keys(name: str) -> dict[str, Any]:
    """``with`` keys of one action; values stay open, since they may be templates."""
    params = ACTIONS[name].params
    keys = {field.alias or key: field for key, field in params.model_fields.items()}
    properties = {
        key: {"description": f.description} if f.description else {} for key, f in keys.items()
    }
    if "json" in properties:  # read by the CLI from a file beside the scenario
        properties["json_file"] = {"type": "string", "description": "a JSON file for json"}
    with_schema = {
        "type": "object",
        "properties": properties,
        "required": [key for key, f in keys.items() if f.is_required()],
        "additionalProperties": False,
    }
    return {
        "if": {"properties": {"action": {"const": name}}, "required": ["action"]},
        "then": {"properties": {"with": with_schema}},
    }

