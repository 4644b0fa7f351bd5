"""Environments: ``itest.yaml``'s named sets of vars, region and stack (``--env``).

The file is found in the current folder or the nearest parent. A var value
``cfn:<StackName>/<OutputKey>`` is read from that stack's outputs by the CLI
before anything starts, with the session the run uses.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itest.cli.errors import BadInput
from itest.cli.scenarios import CONFIG_FILE

ENVIRONMENT_KEYS = ("description", "vars", "region", "stack")
CFN = re.compile(r"cfn:(?P<stack>[A-Za-z][A-Za-z0-9-]*)/(?P<output>[A-Za-z0-9]+)")


@dataclass(frozen=True)
class Environment:
    name: str
    source: Path
    vars: dict[str, Any] = field(default_factory=dict)
    region: str | None = None
    stack: str | None = None


def find_config(start: Path | None = None) -> Path | None:
    """``itest.yaml`` in ``start`` (the current folder) or the nearest parent."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate / CONFIG_FILE
    return None


def load_environment(name: str, start: Path | None = None) -> Environment:
    """The environment ``name`` of the nearest ``itest.yaml``.

    Raises:
        BadInput: no file, not YAML, unknown keys, or no such environment
            (with the names it has).
    """
    path = find_config(start)
    if path is None:
        raise BadInput(
            f"--env {name}: no {CONFIG_FILE} in {Path.cwd()} or a parent; create one with "
            f"environments: {{{name}: {{vars: {{...}}, region: ..., stack: ...}}}}"
        )
    data = _read(path)
    environments = data.get("environments")
    if not isinstance(environments, dict):
        raise BadInput(f"{path}: environments: expected a mapping of name -> environment")
    if name not in environments:
        known = sorted(str(k) for k in environments)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise BadInput(
            f"{path}: environments: no environment {name!r}{hint}; it has "
            f"{', '.join(known) or 'none'}"
        )
    spec = environments[name]
    where = f"{path}: environments.{name}"
    if not isinstance(spec, dict):
        raise BadInput(f"{where}: expected a mapping with vars, region, stack")
    unknown = [key for key in spec if key not in ENVIRONMENT_KEYS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), ENVIRONMENT_KEYS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise BadInput(f"{where}: unknown key {unknown[0]!r}{hint}; expected one of: "
                       f"{', '.join(ENVIRONMENT_KEYS)}")  # fmt: skip
    vars = spec.get("vars") or {}
    if not isinstance(vars, dict) or not all(isinstance(k, str) for k in vars):
        raise BadInput(f"{where}.vars: expected a mapping of var name -> value")
    for key in ("region", "stack"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise BadInput(f"{where}.{key}: expected text, got {spec[key]!r}")
    for var, value in vars.items():
        if isinstance(value, str) and value.startswith("cfn:") and not CFN.fullmatch(value):
            raise BadInput(f"{where}.vars.{var}: expected cfn:<StackName>/<OutputKey>, "
                           f"got {value!r}")  # fmt: skip
    return Environment(name, path, dict(vars), spec.get("region"), spec.get("stack"))


def _read(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise BadInput(f"{path}: {where}invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a mapping with 'environments' at the top")
    unknown = [key for key in data if key != "environments"]
    if unknown:
        raise BadInput(f"{path}: unknown key {unknown[0]!r}; expected 'environments'")
    return data


def with_environment(environment: Environment | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """The environment's vars with the command line's ``--var``s on top (they win)."""
    return {**(environment.vars if environment else {}), **overrides}


def resolve_outputs(values: dict[str, Any], cloudformation: Any) -> dict[str, Any]:
    """Every ``cfn:<StackName>/<OutputKey>`` value replaced by that output's value;
    each stack is described once.

    Raises:
        BadInput: a stack does not exist, or has no such output (naming both, and
            the outputs it has).
    """
    from botocore.exceptions import ClientError

    wanted = {name: CFN.fullmatch(v) for name, v in values.items() if isinstance(v, str)}
    wanted = {name: match for name, match in wanted.items() if match}
    outputs: dict[str, dict[str, str]] = {}
    resolved = dict(values)
    for name, match in wanted.items():
        stack, key = match["stack"], match["output"]
        if stack not in outputs:
            try:
                described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
            except ClientError as error:
                if "does not exist" not in str(error):
                    raise
                raise BadInput(
                    f"var {name} = {values[name]}: no CloudFormation stack {stack!r} "
                    "where this run looks (check --region/--profile or the environment's region)"
                ) from None
            found = described.get("Outputs", [])
            outputs[stack] = {o["OutputKey"]: o["OutputValue"] for o in found}
        if key not in outputs[stack]:
            has = ", ".join(sorted(outputs[stack])) or "none"
            raise BadInput(
                f"var {name} = {values[name]}: stack {stack!r} has no output {key!r} "
                f"(its outputs: {has})"
            )
        resolved[name] = outputs[stack][key]
    return resolved
