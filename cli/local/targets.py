"""Local targets: the `itest_local.py` that serves each scenario under `--local`.

Like pytest's conftest.py, a scenario is served by the nearest `itest_local.py`
in its folder or a parent (up to the project: the current folder, or the first
folder holding `.git`). Each target file is entered once per command, and each
scenario gets the vars of its own target only: two folders' targets never mix.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itest.cli.errors import BadInput, InfraError

LOCAL_TARGET_FILE = "itest_local.py"

# What `itest init` writes and docs/scenarios.md shows ("Local targets"); a test keeps
# the two equal and runs it.
LOCAL_TARGET_TEMPLATE = '''\
"""The local target of the scenarios in this folder and below (`itest run --local`).

itest enters `local_target(aws)` once per command, before any of these scenarios
starts, and leaves it after the last one ends. What it yields becomes vars of the
scenarios it serves (a `--var` wins over it; it wins over a scenario's `vars:`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def local_target(aws: Any) -> Iterator[dict[str, str]]:
    """Create what the service under test needs on the local AWS, start the service,
    yield its vars; stop it afterwards.

    `aws.client("dynamodb")` (any boto3 service) talks to the local AWS;
    `aws.env()` points a child process's AWS SDK at it; `aws.endpoint_url` and
    `aws.region` say where it is.
    """
    table = "my-service-items"
    dynamodb = aws.client("dynamodb")
    if table not in dynamodb.list_tables()["TableNames"]:  # the local AWS may outlive a run
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    # start your service here, e.g. subprocess.Popen([...], env={**os.environ, **aws.env()})
    try:
        yield {"items_table": table}  # add "api_url": "http://127.0.0.1:<port>" for an API
    finally:
        pass  # stop what you started
'''


@dataclass
class Served:
    """Which target serves which scenario file, and the vars each target yielded."""

    targets: dict[Path, Path | None] = field(default_factory=dict)  # scenario -> target
    provided: dict[Path, dict[str, str]] = field(default_factory=dict)  # target -> vars

    def target_of(self, scenario_file: Path) -> Path | None:
        return self.targets.get(scenario_file.resolve())

    def vars_for(self, scenario_file: Path) -> dict[str, str]:
        """The vars of the scenario's own target ({} when none serves it)."""
        target = self.target_of(scenario_file)
        return dict(self.provided.get(target, {})) if target else {}


def nearest_target(scenario_file: Path) -> Path | None:
    """The `itest_local.py` in the scenario's folder or the nearest parent holding one,
    up to the project (the current folder, a folder holding `.git`, or `/`)."""
    from itest.cli.project import project_folders

    candidates = (folder / LOCAL_TARGET_FILE for folder in project_folders(scenario_file.parent))
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def yielded_names(target: Path) -> set[str] | None:
    """The var names `local_target` yields, read from its source without running it
    (for `itest validate`); None when they cannot be known (a yield of a non-literal)."""
    import ast

    try:
        tree = ast.parse(target.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    function = next((node for node in tree.body if isinstance(node, ast.FunctionDef)
                     and node.name == "local_target"), None)
    if function is None:
        return None
    names: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Yield):
            value = node.value
            if not isinstance(value, ast.Dict) or not all(
                isinstance(key, ast.Constant) and isinstance(key.value, str) for key in value.keys
            ):
                return None
            names |= {key.value for key in value.keys}  # type: ignore[union-attr]
    return names


def find_targets(scenario_files: list[Path]) -> Served:
    """Map each scenario file to its target (nothing is loaded yet)."""
    return Served({path.resolve(): nearest_target(path) for path in scenario_files})


def describe(served: Served, name_of: Callable[[Path], str]) -> list[str]:
    """One line per target naming the scenarios it serves, and one for those it none serves."""
    by_target: dict[Path | None, list[str]] = {}
    for scenario_file, target in served.targets.items():
        by_target.setdefault(target, []).append(name_of(scenario_file))
    lines = [
        f"local target {_shown(target)} serves {', '.join(names)}"
        for target, names in by_target.items()
        if target is not None
    ]
    if None in by_target:
        lines.append(
            f"no {LOCAL_TARGET_FILE} found for {', '.join(by_target[None])} (searched "
            "its folder and parents): its vars come from `vars:` and --var only"
        )
    return lines


@contextmanager
def enter_targets(served: Served, aws: Any, *, timeout: float | None = None) -> Iterator[Served]:
    """Load and enter every target once, against `aws`; fill `served.provided`.

    `timeout` bounds the start-up of all targets together (the `--timeout` of run).

    Raises:
        BadInput: a target file cannot be loaded or defines no `local_target`.
        InfraError: a target failed or did not start within `timeout`.
    """
    files = list(dict.fromkeys(t for t in served.targets.values() if t is not None))
    loaded = [(path, load_target(path)) for path in files]
    deadline = time.monotonic() + timeout if timeout else None
    with ExitStack() as stack:
        for path, local_target in loaded:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.1)
            provided = _start(stack, path, local_target, aws, left)
            if not isinstance(provided, dict):
                raise InfraError(
                    f"local target {_shown(path)} yielded {type(provided).__name__}; "
                    "it must yield a dict of vars (yield {} for none)"
                )
            served.provided[path] = {str(k): v for k, v in provided.items()}
        yield served


def load_target(path: Path) -> Callable[[Any], Any]:
    """The `local_target(aws)` context manager of an `itest_local.py`.

    Raises:
        BadInput: it cannot be imported (file and line said), or has no `local_target`.
    """
    spec = importlib.util.spec_from_file_location(f"itest_local_{abs(hash(path))}", path)
    if spec is None or spec.loader is None:
        raise BadInput(f"{_shown(path)}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise BadInput(_failure(path, "could not be loaded", error)) from None
    local_target = getattr(module, "local_target", None)
    if not callable(local_target):
        raise BadInput(f"{_shown(path)}: defines no local_target(aws) context manager")
    return local_target


def _start(stack: ExitStack, path: Path, local_target: Any, aws: Any,
           timeout: float | None) -> Any:
    """Enter one target; in a helper thread when bounded, since a blocked target
    cannot be interrupted (the thread is a daemon: it dies with the command)."""
    try:
        manager = local_target(aws)
        if timeout is None:
            return stack.enter_context(manager)
        box: dict[str, Any] = {}

        def enter() -> None:
            try:
                box["value"] = manager.__enter__()
            except BaseException as error:  # handed to the caller's thread
                box["error"] = error

        thread = threading.Thread(target=enter, name=f"itest-target-{path.parent.name}",
                                  daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise InfraError(
                f"local target {_shown(path)} did not start within {timeout:.0f} s "
                "(--timeout): it has not yielded yet"
            )
        if "error" in box:
            raise box["error"]
        stack.push(manager.__exit__)
        return box["value"]
    except InfraError:
        raise
    except Exception as error:
        raise InfraError(_failure(path, "failed to start", error)) from None


def _failure(path: Path, what: str, error: BaseException) -> str:
    """`local target tests/itest_local.py failed to start at line 12: KeyError: 'x'`, with
    the traceback on stderr under ITEST_DEBUG=1."""
    if os.environ.get("ITEST_DEBUG"):
        traceback.print_exception(error, file=sys.stderr)
    line = _line_in(path, error)
    where = f" at line {line}" if line else ""
    hint = "" if os.environ.get("ITEST_DEBUG") else " (ITEST_DEBUG=1 shows the traceback)"
    return f"local target {_shown(path)} {what}{where}: {type(error).__name__}: {error}{hint}"


def _line_in(path: Path, error: BaseException) -> int | None:
    """The deepest line of the user's file in the traceback (a SyntaxError's own line)."""
    if isinstance(error, SyntaxError) and error.lineno:
        return error.lineno
    lines = [
        frame.lineno for frame in traceback.extract_tb(error.__traceback__)
        if Path(frame.filename).resolve() == path.resolve()
    ]
    return lines[-1] if lines else None


def _shown(path: Path) -> str:
    """The path relative to the current folder when under it, as the user typed it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
