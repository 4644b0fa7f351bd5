"""Which `vars.X` a scenario uses that nothing gives it.

A name is given when the scenario declares it in `vars:`, an earlier step
captures it (a step's own cleanup also sees its captures), or the run provides
it (a `--var`, or the vars its local target yields). Anything else would be an
`unknown name` error in the middle of a run: the CLI says so before it starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from itest.lambdas.expressions import expression_vars, find_templates, iter_strings
from itest.lambdas.validation import Loc, format_loc

if TYPE_CHECKING:
    from itest.lambdas.scenario.models import Scenario


def unknown_vars(scenario: Scenario, provided: set[str]) -> list[tuple[str, str, str]]:
    """`(location, name, note)` for every use of a `vars.X` that nothing gives."""
    data = scenario.model_dump(mode="json", by_alias=True)
    known = set(scenario.vars) | provided
    captured_by = {name: step.name for step in scenario.steps for name in step.capture}
    found: list[tuple[str, str, str]] = []

    def check(loc: Loc, value: Any, seen: set[str], *, paths: bool = False) -> None:
        for where, name in _used(value, paths=paths):
            if name in seen:
                continue
            later = captured_by.get(name)
            note = f"step {later!r} captures it, later" if later else ""
            found.append((format_loc((*loc, *where), data), name, note))

    for i, step in enumerate(scenario.steps):
        loc: Loc = ("steps", i)
        check((*loc, "with"), data["steps"][i].get("with"), known)
        check((*loc, "expect"), data["steps"][i].get("expect"), known)
        check((*loc, "stop_if"), data["steps"][i].get("stop_if"), known)
        known = known | set(step.capture)
        if step.cleanup is not None:
            check((*loc, "cleanup", "with"), data["steps"][i]["cleanup"].get("with"), known)
    check(("assertions",), data.get("assertions"), known, paths=True)
    for i, _ in enumerate(scenario.cleanup):
        check(("cleanup", i, "with"), data["cleanup"][i].get("with"), known)
    return found


def _used(value: Any, *, paths: bool) -> Iterator[tuple[Loc, str]]:
    """`vars.X` names in the templates of `value` (and in `path`s when `paths`:
    assertions' paths are over `{run_id, vars, steps}`)."""
    for where, text in iter_strings(value):
        is_path = bool(where) and where[-1] == "path"
        if is_path and not paths:
            continue  # an expectation's path is over the action's result
        for expr in [text] if is_path else find_templates(text):
            for name in expression_vars(expr):
                yield where, name
