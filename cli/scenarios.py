"""Scenario files: finding them, validating all of them, choosing by tag."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itest.cli.errors import BadInput
from itest.cli.project import ignored

if TYPE_CHECKING:
    from itest.cli.local.targets import Served
    from itest.lambdas.scenario.models import Scenario

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")
CONFIG_FILE = "itest.yaml"


@dataclass(frozen=True)
class LoadedScenario:
    """One execution to start: a scenario file and, for a matrix, one combination."""

    path: Path
    scenario: Scenario
    variant: dict[str, Any] = field(default_factory=dict)  # matrix values, added to vars

    @property
    def label(self) -> str:
        """The name reports show: ``orders[qty=1,region=eu]`` for a matrix variant."""
        from itest.cli.matrix import label

        return label(self.scenario.name, self.variant)

    @property
    def run_prefix(self) -> str:
        """The start of its run ids (a valid execution name)."""
        from itest.cli.matrix import run_prefix

        return run_prefix(self.scenario.name, self.variant)


def collect(paths: tuple[Path, ...]) -> list[Path]:
    """Scenario files named or found (recursively) in the folders named; in folders,
    files an `.itestignore` leaves out (fixtures) are not scenarios.

    Raises:
        BadInput: a path does not exist, or a folder holds no scenario.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if p.suffix in SCENARIO_SUFFIXES and p.name != CONFIG_FILE  # itest.yaml: --env
            )
            found = [p for p in found if not ignored(p)]
            if not found:
                raise BadInput(f"{path}: no scenario files (*.yaml, *.yml, *.json) in this folder")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise BadInput(f"{path}: no such file or folder")
    return list(dict.fromkeys(files))


def load(paths: tuple[Path, ...], *, tags: tuple[str, ...] = ()) -> list[LoadedScenario]:
    """Validate every file before anything is uploaded or started; keep those tagged.

    A scenario is kept when it has any of `tags` (all are kept when none is given).

    Raises:
        BadInput: any file is invalid (all problems of all files are listed),
            two files use the same scenario name, or no scenario has the tags.
    """
    loaded, problems = load_all(paths)
    if problems:
        raise BadInput("\n".join(problems))
    if not tags:
        return loaded
    chosen = [item for item in loaded if set(tags) & set(item.scenario.tags)]
    if not chosen:
        raise BadInput(f"no scenario in {_names(paths)} has the tag {' or '.join(tags)}")
    return chosen


def load_all(paths: tuple[Path, ...]) -> tuple[list[LoadedScenario], list[str]]:
    """The valid scenarios, and one problem line per invalid file or clashing name."""
    from itest.cli.authoring import load_file
    from itest.lambdas.errors import ScenarioError

    loaded: list[LoadedScenario] = []
    problems: list[str] = []
    for path in collect(paths):
        try:
            found = load_file(path)
        except ScenarioError as error:
            problems.append(str(error))
            continue
        if found is not None:  # None: a fragment, validated through its includes
            scenario, variants = found
            loaded += [LoadedScenario(path, scenario, variant) for variant in variants]
    names: dict[str, Path] = {}
    for item in loaded:
        if names.get(item.scenario.name, item.path) != item.path:
            problems.append(
                f"{item.path}: name: '{item.scenario.name}' is already used by "
                f"{names[item.scenario.name]}; scenario names must be unique"
            )
        names.setdefault(item.scenario.name, item.path)
    return loaded, problems


def check_vars(
    scenarios: list[LoadedScenario],
    vars_for: dict[Path, dict[str, str]],
    served: Served | None = None,
) -> None:
    """Render each scenario's vars with a dummy run id, as Prepare will, and look for
    a `vars.X` that nothing gives (not declared, captured earlier, passed or yielded by
    its local target): a configuration problem before anything starts, not a red test.
    `served` says which local target serves which file (None: not a local run).

    Raises:
        BadInput: a var is missing (all scenarios' problems are listed).
    """
    from itest.cli.var_use import unknown_vars
    from itest.lambdas.errors import TemplateError
    from itest.lambdas.expressions import render_vars

    problems = []
    for item in scenarios:
        given = {**vars_for.get(item.path, {}), **item.variant}
        hint = _where_vars_come_from(item.path, served)
        try:
            render_vars(
                item.scenario.vars, given, run_id=f"{item.scenario.name}-check",
                now="1970-01-01T00:00:00Z",
            )
        except TemplateError as error:
            problems.append(f"{item.path}: vars: {error} ({hint})")
            continue
        for where, name, note in unknown_vars(item.scenario, set(given)):
            problems.append(
                f"{item.path}: {where}: vars.{name} is not declared in `vars:`, captured by "
                f"an earlier step nor given to the run{f' ({note})' if note else ''}; {hint}"
            )
    if problems:
        raise BadInput("\n".join(problems))


def check_overrides(scenarios: list[LoadedScenario], overrides: dict[str, Any]) -> None:
    """A ``--var`` may not set what a matrix sets per execution: every variant would
    run with the same value under different names.

    Raises:
        BadInput: the clashing names, by file.
    """
    problems = {
        f"{item.path}: matrix: --var {name} would replace the matrix's {name} in every "
        "execution; drop the --var, or the name from the matrix"
        for item in scenarios
        for name in sorted(set(item.variant) & set(overrides))
    }
    if problems:
        raise BadInput("\n".join(sorted(problems)))


def warnings_for(item: LoadedScenario) -> list[str]:
    """What `itest validate` warns about without failing: a step with no `expect` whose
    action then passes on anything (`http`: any status), and a `vars.X` that nothing
    visible gives (not declared, not captured earlier, not yielded by its local target:
    only a --var could)."""
    from itest.cli.local.targets import nearest_target, yielded_names
    from itest.cli.var_use import unknown_vars
    from itest.lambdas.actions.registry import get_action
    from itest.lambdas.validation import format_loc

    found = []
    data = {"steps": [{"name": step.name} for step in item.scenario.steps]}
    for i, step in enumerate(item.scenario.steps):
        unchecked = get_action(step.action).unchecked
        if unchecked and not step.expect:
            found.append(
                f"{item.path}: {format_loc(('steps', i), data)}: an {step.action} step without "
                f"expect {unchecked}"
            )
    target = nearest_target(item.path)
    provided = yielded_names(target) if target else set()
    if provided is not None:
        origin = f"yielded by {target}" if target else "given by a local target (none found)"
        for where, name, note in unknown_vars(item.scenario, provided | set(item.variant)):
            found.append(
                f"{item.path}: {where}: vars.{name} is not declared, captured by an earlier step "
                f"nor {origin}{f' ({note})' if note else ''}: only a --var {name}=... can give it"
            )
    return found


def _where_vars_come_from(path: Path, served: Served | None) -> str:
    if served is None:
        return "pass it with --var KEY=VALUE"
    from itest.cli.local.targets import LOCAL_TARGET_FILE

    target = served.target_of(path)
    if target is None:
        return (
            f"pass it with --var KEY=VALUE, or yield it from an {LOCAL_TARGET_FILE} in the "
            "scenario's folder or a parent (none was found)"
        )
    return f"yield it from its local target {target} or pass it with --var KEY=VALUE"


def _names(paths: tuple[Path, ...]) -> str:
    return ", ".join(str(p) for p in paths)
