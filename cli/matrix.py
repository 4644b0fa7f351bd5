"""Data-driven scenarios: ``matrix:`` gives one execution per combination.

``matrix: {qty: [1, 3], region: [eu, us]}`` is every combination (4 runs);
``matrix: {rows: [{qty: 1, region: eu}, ...]}`` is the rows as written. The CLI
takes ``matrix`` off before upload: every variant runs the same plain scenario
with its values added to the execution input's ``vars``, under its own name
``<scenario>[qty=1,region=eu]`` and a run id Step Functions accepts.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

from itest.lambdas.errors import ScenarioError
from itest.lambdas.validation import IDENTIFIER

MAX_VARIANTS = 100
UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


def split(path: Path, data: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The scenario without ``matrix``, and its variants (``[{}]`` when it has none).

    Raises:
        ScenarioError: ``matrix`` is not one of its two forms, names are not
            identifiers, a list is empty, two rows are the same, or there are
            more than :data:`MAX_VARIANTS` combinations.
    """
    if "matrix" not in data:
        return data, [{}]
    rest = {key: value for key, value in data.items() if key != "matrix"}
    return rest, _variants(str(path), data["matrix"])


def _variants(source: str, matrix: Any) -> list[dict[str, Any]]:
    def fail(where: str, message: str) -> ScenarioError:
        return ScenarioError([{"file": source, "location": where, "message": message}])

    if not isinstance(matrix, dict) or not matrix:
        raise fail("matrix", "expected {name: [values...], ...} or {rows: [{name: value}, ...]}")
    if "rows" in matrix:
        if len(matrix) > 1:
            others = ", ".join(repr(k) for k in matrix if k != "rows")
            raise fail("matrix", f"give either rows or lists of values, not rows and {others}")
        rows = matrix["rows"]
        if not isinstance(rows, list) or not rows:
            raise fail("matrix.rows", "expected a non-empty list of {name: value} mappings")
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or not row:
                raise fail(f"matrix.rows[{i}]", "expected a non-empty mapping {name: value}")
            _names(row, f"matrix.rows[{i}]", fail)
        variants = [dict(row) for row in rows]
    else:
        _names(matrix, "matrix", fail)
        for name, values in matrix.items():
            if not isinstance(values, list) or not values:
                raise fail(f"matrix.{name}", "expected a non-empty list of values")
        count = 1
        for values in matrix.values():
            count *= len(values)
        if count > MAX_VARIANTS:
            raise fail("matrix", _too_many(count))
        variants = [dict(zip(matrix, combo, strict=True)) for combo in itertools.product(
            *matrix.values())]  # fmt: skip
    if len(variants) > MAX_VARIANTS:
        raise fail("matrix", _too_many(len(variants)))
    seen: dict[str, int] = {}
    for i, variant in enumerate(variants):
        key = label("", variant)
        if key in seen:
            where = f"matrix.rows[{i}]" if "rows" in matrix else f"matrix.{next(iter(variant))}"
            raise fail(where, f"the combination {key} comes twice (also #{seen[key] + 1})")
        seen[key] = i
    return variants


def _names(mapping: dict[str, Any], where: str, fail: Any) -> None:
    bad = [name for name in mapping if not isinstance(name, str) or not IDENTIFIER.fullmatch(name)]
    if bad:
        raise fail(where, f"matrix names become vars, so they must be identifiers: {bad[0]!r}")


def _too_many(count: int) -> str:
    return (
        f"{count} combinations; a matrix may give at most {MAX_VARIANTS} executions "
        "(use rows for the combinations that matter)"
    )


def label(name: str, variant: dict[str, Any]) -> str:
    """``orders[qty=1,region=eu]``: the variant's name in every report."""
    if not variant:
        return name
    return f"{name}[{','.join(f'{k}={_text(v)}' for k, v in variant.items())}]"


def run_prefix(name: str, variant: dict[str, Any]) -> str:
    """``orders-qty-1-region-eu``: the start of the variant's run id (an execution
    name takes letters, digits, ``-`` and ``_`` only)."""
    if not variant:
        return name
    slug = UNSAFE.sub("-", "-".join(f"{k}-{_text(v)}" for k, v in variant.items())).strip("-")
    return f"{name}-{slug}" if slug else name


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
