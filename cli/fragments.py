"""Shared steps: ``- include: fragments/login.yaml`` expanded before upload.

A fragment file (``kind: fragment``) declares ``params`` and ``steps``. The CLI
replaces each include entry by the fragment's steps, with ``{{ params.x }}``
substituted, names prefixed (``<label>/<step>``) so they stay unique, and
their ``steps."<name>"`` references following the prefix. The engine only ever
sees a plain scenario: fragments are an authoring feature, expanded here.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itest.lambdas.errors import ScenarioError
from itest.lambdas.expressions import TEMPLATE

FRAGMENT_KEYS = ("kind", "description", "params", "steps")
INCLUDE_KEYS = ("include", "with", "name")
PARAM_KEYS = ("default", "description")
PARAM = re.compile(r"\bparams\.([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class Origin:
    """Where an expanded step came from, for messages: the fragment file and the
    include entry (``steps[1]`` of the scenario, or of an outer fragment)."""

    fragment: str
    included_by: str


@dataclass
class Expanded:
    """A scenario's data with every include replaced, and where included steps came from."""

    data: dict[str, Any]
    origins: dict[int, Origin] = field(default_factory=dict)  # by expanded step index


def is_fragment(data: Any) -> bool:
    return isinstance(data, dict) and data.get("kind") == "fragment"


def read(path: Path) -> dict[str, Any]:
    """A file's top-level mapping, parsed as the scenario loader parses it.

    Raises:
        ScenarioError: unreadable, or not YAML/JSON holding a mapping.
    """
    from itest.lambdas.scenario.parsing import parse_document

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(str(path), "", f"cannot read: {exc}") from None
    return parse_document(text, source=str(path))


def expand(path: Path, data: dict[str, Any]) -> Expanded:
    """Replace every include of the scenario at ``path`` (recursively).

    Raises:
        ScenarioError: a fragment is missing or invalid, a param is missing or
            unknown, or includes form a cycle; each names the fragment file and
            the including step.
    """
    steps = data.get("steps")
    if not isinstance(steps, list) or not any(_is_include(s) for s in steps):
        return Expanded(data)
    expanded = Expanded({**data})
    out: list[Any] = []
    for i, step in enumerate(steps):
        if not _is_include(step):
            out.append(step)
            continue
        for fragment, included_by, item in _include(path, step, f"steps[{i}]", (path,)):
            expanded.origins[len(out)] = Origin(fragment, included_by)
            out.append(item)
    expanded.data["steps"] = out
    return expanded


def explain(error: ScenarioError, expanded: Expanded, steps: list[Any]) -> ScenarioError:
    """The model's problems with each one about an included step saying which
    fragment and which include it came from."""
    if not expanded.origins:
        return error
    problems = []
    for problem in error.problems:
        origin = _origin_of(problem["location"], expanded, steps)
        if origin is not None:
            note = f" (from {origin.fragment}, included by {origin.included_by})"
            problem = {**problem, "message": problem["message"] + note}
        problems.append(problem)
    return ScenarioError(problems)


def _origin_of(location: str, expanded: Expanded, steps: list[Any]) -> Origin | None:
    for index, origin in expanded.origins.items():
        name = steps[index].get("name") if isinstance(steps[index], dict) else None
        heads = [f"steps[{index}]"] + ([f"steps[{name!r}]"] if isinstance(name, str) else [])
        if any(location == h or location.startswith((f"{h}.", f"{h}[")) for h in heads):
            return origin
    return None


def _is_include(step: Any) -> bool:
    return isinstance(step, dict) and "include" in step


def _include(
    base: Path, entry: dict[str, Any], where: str, chain: tuple[Path, ...]
) -> list[tuple[str, str, Any]]:
    """(fragment file, including step, expanded step) for each step the entry brings in."""
    source = str(base)
    unknown = [key for key in entry if key not in INCLUDE_KEYS]
    if unknown:
        raise _error(source, where, _unknown(unknown[0], INCLUDE_KEYS, "an include"))
    target = entry["include"]
    if not isinstance(target, str) or not target:
        raise _error(source, f"{where}.include", "expected the path of a fragment file")
    path = base.parent / target
    shown = _shown(path)
    if path.resolve() in {p.resolve() for p in chain}:
        cycle = " -> ".join(_shown(p) for p in (*chain, path))
        raise _error(source, f"{where}.include", f"include cycle: {cycle}")
    if not path.is_file():
        raise _error(source, f"{where}.include", f"no fragment file {shown} (paths are relative "
                     f"to {_shown(base.parent)}/)")  # fmt: skip
    fragment = read(path)
    try:
        _check_fragment(fragment, shown)
    except ScenarioError as error:
        (problem,) = error.problems
        note = f" (included by {_shown(base)} {where})"
        raise _error(problem["file"], problem["location"], problem["message"] + note) from None
    values = _params(fragment, entry.get("with"), shown, source, where)
    label = entry.get("name", path.stem)
    if not isinstance(label, str) or not label:
        raise _error(source, f"{where}.name", "expected text: the prefix of the included steps")
    items: list[tuple[str, str, Any]] = []
    for i, step in enumerate(fragment["steps"]):
        inner = f"steps[{i}]"
        if _is_include(step):  # its `with` may pass this fragment's params on
            items += _include(path, _substitute(step, values, shown, inner), inner, (*chain, path))
        else:
            substituted = _substitute(step, values, shown, f"{inner}")
            items.append((shown, f"{_shown(base)} {where}", substituted))
    local = [item.get("name") for _, _, item in items if isinstance(item, dict)]
    names = [name for name in local if isinstance(name, str)]
    return [(frag, by, _renamed(item, label, names)) for frag, by, item in items]


def _check_fragment(fragment: dict[str, Any], shown: str) -> None:
    if not is_fragment(fragment):
        message = "this is not a fragment: a fragment file starts with 'kind: fragment'"
        raise _error(shown, "kind", message)
    unknown = [key for key in fragment if key not in FRAGMENT_KEYS]
    if unknown:
        raise _error(shown, "", _unknown(unknown[0], FRAGMENT_KEYS, "a fragment"))
    steps = fragment.get("steps")
    if not isinstance(steps, list) or not steps:
        raise _error(shown, "steps", "a fragment needs a list of at least one step")
    params = fragment.get("params", {})
    if not isinstance(params, dict):
        raise _error(shown, "params", "expected a mapping: name -> {default, description}")
    for name, spec in params.items():
        if not isinstance(spec, dict) or any(key not in PARAM_KEYS for key in spec):
            message = "expected {} (required) or {default: <value>, description: <text>}"
            raise _error(shown, f"params.{name}", message)
    used = {m.group(1) for _, text in _strings(steps) for m in PARAM.finditer(text)}
    undeclared = sorted(used - set(params))
    if undeclared:
        declared = ", ".join(params) or "none"
        raise _error(shown, "steps", f"uses params.{undeclared[0]}, which is not in 'params' "
                     f"(declared: {declared})")  # fmt: skip


def _params(
    fragment: dict[str, Any], given: Any, shown: str, source: str, where: str
) -> dict[str, Any]:
    declared: dict[str, dict[str, Any]] = fragment.get("params", {})
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise _error(source, f"{where}.with", f"expected a mapping of {shown}'s params")
    for name in given:
        if name not in declared:
            message = _unknown(name, tuple(declared), f"{shown}'s params")
            raise _error(source, f"{where}.with", message)
    missing = [n for n, spec in declared.items() if n not in given and "default" not in spec]
    if missing:
        message = f"{shown} needs param {missing[0]!r}; give it in 'with'"
        raise _error(source, f"{where}.with", message)
    return {n: given[n] if n in given else spec["default"] for n, spec in declared.items()}


def _renamed(step: Any, label: str, names: list[str]) -> Any:
    """The step named ``<label>/<name>``, its references to the steps brought in with
    it (``steps."<name>"``) following the prefix."""
    if not isinstance(step, dict):
        return step

    def follow(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: follow(v) for k, v in value.items()}
        if isinstance(value, list):
            return [follow(v) for v in value]
        if not isinstance(value, str) or "{{" not in value:
            return value
        for name in names:
            value = value.replace(f'steps."{name}"', f'steps."{label}/{name}"')
        return value

    done = {key: follow(value) for key, value in step.items() if key != "name"}
    if isinstance(step.get("name"), str):
        return {"name": f"{label}/{step['name']}", **done}
    return {**step, **done}


def _substitute(value: Any, values: dict[str, Any], shown: str, where: str) -> Any:
    """``{{ params.x }}`` replaced: alone, by the value itself (its type kept); inside
    text, by its text; inside a bigger expression, by a JMESPath literal."""
    if isinstance(value, dict):
        return {k: _substitute(v, values, shown, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values, shown, where) for v in value]
    if not isinstance(value, str) or "params." not in value:
        return value
    whole = TEMPLATE.fullmatch(value.strip())
    alone = PARAM.fullmatch(whole.group(1).strip()) if whole else None
    if alone:
        return values[alone.group(1)]

    def one(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        param = PARAM.fullmatch(expr)
        if param:
            found = values[param.group(1)]
            return found if isinstance(found, str) else json.dumps(found)
        expr = PARAM.sub(lambda m: _literal(values[m.group(1)], shown, where), expr)
        return "{{ " + expr + " }}"

    return TEMPLATE.sub(one, value)


def _literal(value: Any, shown: str, where: str) -> str:
    """A param inside a bigger expression becomes a JMESPath literal."""
    if isinstance(value, str) and "{{" in value:
        message = (
            "a param that is itself a template can only stand alone as '{{ params.x }}', "
            "not inside a bigger expression"
        )
        raise _error(shown, where, message)
    return "`" + json.dumps(value).replace("`", "\\`") + "`"


def _strings(value: Any) -> list[tuple[None, str]]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [(None, value)] if isinstance(value, str) else []


def _unknown(name: str, known: tuple[str, ...], what: str) -> str:
    message = f"unknown key {name!r} in {what}"
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    return message + f"; expected one of: {', '.join(known) or 'none'}"


def _shown(path: Path) -> str:
    """A path as the user gave it (relative stays relative), without ``a/../``."""
    return os.path.normpath(path)


def _error(file: str, location: str, message: str) -> ScenarioError:
    return ScenarioError([{"file": file, "location": location, "message": message}])

