"""Loading a scenario: every check, every problem at once.

``itest validate``, the CLI's upload and the Prepare Lambda all go through
:func:`load_scenario`, which reports every problem at once, each with file,
location and what was expected (:class:`ScenarioError`). Values of ``with`` and
of matchers may be templates, so their types are checked where they are plain
values now, and again after rendering at run time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from itest.lambdas.errors import ScenarioError
from itest.lambdas.scenario import limits
from itest.lambdas.scenario.checks import cross_problems
from itest.lambdas.scenario.models import Scenario
from itest.lambdas.scenario.parsing import json_problems, parse_document
from itest.lambdas.validation import Loc, explain, format_loc
from pydantic import ValidationError


def load_scenario(text: str, *, source: str, folder: Path | None = None) -> Scenario:
    """Parse and validate a scenario (YAML or JSON). With `folder` (the scenario file's),
    ``json_file: <path>`` in a ``with`` is read from there and becomes ``json:``.

    Raises:
        ScenarioError: every problem found, each with file, location and message.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > limits.SCENARIO_LIMIT_BYTES:
        message = (
            f"the file is {size / 1024:.0f} KiB; a scenario may be at most "
            f"{limits.SCENARIO_LIMIT_BYTES // 1024} KiB: split it, or move data to a file in S3"
        )
        raise ScenarioError([{"file": source, "location": "", "message": message}])
    data = parse_document(text, source=source)
    problems = _inline_json_files(data, folder) + json_problems(data)
    if not problems:
        scenario = None
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as exc:
            problems = explain(exc, Scenario)
        # every check at once: a user fixes a file in one pass, not one layer at a time
        problems += cross_problems(data)
        problems += limits.bounds_problems(data)
        if not problems and scenario is not None:
            problems = limits.history_problems(scenario)
        if not problems and scenario is not None:
            return scenario
    raise ScenarioError(
        [{"file": source, "location": format_loc(loc, data), "message": m} for loc, m in problems]
    )


def load_accepted(text: str, *, source: str) -> Scenario:
    """A scenario :func:`load_scenario` accepted before, by its exact text (the object
    Prepare pinned, read again by a later state): only read into its model, at a
    third of the cost; the file's and cross-field checks passed then and their
    answer cannot have changed. Should the model refuse it after all (code changed
    between the states), every problem is reported as :func:`load_scenario` does.

    Raises:
        ScenarioError: every problem found.
    """
    try:
        return Scenario.model_validate(json.loads(text))
    except ValueError:  # not JSON (a YAML upload), or the model refuses it
        return load_scenario(text, source=source)


def load_scenario_file(path: str | Path) -> Scenario:
    """Read and validate one scenario file.

    Raises:
        ScenarioError: the file cannot be read, or every problem in it.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = {"file": str(path), "location": "", "message": f"cannot read: {exc}"}
        raise ScenarioError([problem]) from None
    return load_scenario(text, source=str(path), folder=Path(path).parent)


def _inline_json_files(data: dict[str, Any], folder: Path | None) -> list[tuple[Loc, str]]:
    """Replace each ``json_file: <path>`` of a step's or cleanup's ``with`` by ``json:``
    and the file's content (relative to the scenario's folder), so that what is
    uploaded holds the body itself."""
    problems: list[tuple[Loc, str]] = []
    steps = data.get("steps") if isinstance(data.get("steps"), list) else []
    cleanups = data.get("cleanup") if isinstance(data.get("cleanup"), list) else []
    places: list[tuple[Loc, Any]] = [(("steps", i), step) for i, step in enumerate(steps)]
    places += [(("steps", i, "cleanup"), s.get("cleanup")) for i, s in enumerate(steps)
               if isinstance(s, dict)]
    places += [(("cleanup", i), spec) for i, spec in enumerate(cleanups)]
    for loc, spec in places:
        params = spec.get("with") if isinstance(spec, dict) else None
        if not isinstance(params, dict) or "json_file" not in params:
            continue
        where: Loc = (*loc, "with", "json_file")
        name = params.pop("json_file")
        if "json" in params:
            problems.append((where, "give json or json_file, not both"))
        elif not isinstance(name, str) or folder is None:
            problems.append((where, "expected a path to a JSON file, relative to the scenario"))
        else:
            try:
                params["json"] = json.loads((folder / name).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                problems.append((where, f"cannot read {name}: {exc.strerror or exc}"))
            except ValueError as exc:
                problems.append((where, f"{name} is not JSON: {exc}"))
    return problems

