"""``skip_if``: whether a step runs at all, decided over the run's context.

Kept apart from the step flow in :mod:`itest.lambdas.states` so that the flow
stays one call (``skip_reason``) whatever shape it takes, and so that
validation checks the same names the engine gives.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from itest.lambdas.expressions import compile_path, name_chains, search
from itest.lambdas.matchers import Expectation, evaluate, show
from jmespath.exceptions import JMESPathError

SKIP_NAMES = ("run_id", "vars", "steps", "now")
"""What a ``skip_if`` path reads: the template context without secrets, so that a
skip reason (shown in every report) can never carry a secret value."""


def skip_reason(skip_if: list[Expectation], context: Mapping[str, Any]) -> str | None:
    """``skip_if holds: vars.env is 'prod' (equals 'prod')`` for the first expectation
    whose matchers all hold, else None (the step runs).

    Raises:
        TemplateError: an expected value's template cannot be rendered.
    """
    data = {name: context.get(name) for name in SKIP_NAMES}
    for expectation in skip_if:
        if not evaluate([expectation], data, context):
            given = ", ".join(f"{k} {show(v)}" for k, v in expectation.matchers().items())
            actual = show(search(expectation.path, data))
            return f"skip_if holds: {expectation.path} is {actual} ({given})"
    return None


def path_problems(path: Any) -> list[str]:
    """Offline: a ``skip_if`` path must start at a name of the context (a typo such as
    ``var.env`` would silently read null and never skip)."""
    if not isinstance(path, str):
        return []
    try:
        chains = name_chains(compile_path(path).parsed)
    except JMESPathError:
        return []  # the model reports the expression itself
    problems = []
    for root in dict.fromkeys(chain[0] for chain in chains):
        if root not in SKIP_NAMES:
            names = ", ".join(SKIP_NAMES)
            message = f"{path!r} starts at unknown name {root!r}; skip_if reads {names}"
            close = difflib.get_close_matches(root, SKIP_NAMES, n=1)
            problems.append(message + (f" (did you mean {close[0]!r}?)" if close else ""))
    return problems
