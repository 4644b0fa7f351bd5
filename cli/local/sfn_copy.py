"""moto's Step Functions interpreter copies every state's input, result and output with
`copy.deepcopy`: with 50 runs at once, about a fifth of the local AWS's CPU (bench/profile.py).

Those values are JSON (dicts, lists, strings, numbers, booleans, null), which a plain
recursive copy duplicates several times faster than `copy.deepcopy`'s generic machinery.
`json_copy` gives exactly `copy.deepcopy`'s result for such a value; anything else (another
type anywhere inside, or a dict or list reached twice, which `copy.deepcopy` would copy
once and share) is handed to `copy.deepcopy` whole, so its semantics never change.

The interpreter also copies its program state (running, ended, failed...) a few times per
state: objects of plain classes (attributes only, no copy hooks) whose attributes are JSON,
which `copy.deepcopy` rebuilds as a new instance given copies of the attributes; so does
`json_copy` for the classes it is given.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import ModuleType, SimpleNamespace
from typing import Any

# the interpreter's modules that `import copy` and copy state values with `copy.deepcopy`
INTERPRETER_MODULES = (
    "moto.stepfunctions.parser.asl.eval.states",
    "moto.stepfunctions.parser.asl.eval.environment",
    "moto.stepfunctions.parser.asl.eval.event.event_manager",
    "moto.stepfunctions.parser.asl.component.common.path.result_path",
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map",
    "moto.stepfunctions.parser.asl.component.state.exec.state_parallel.state_parallel",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service",
)

_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


class _NotJson(Exception):
    """A value holds something `json_copy` leaves to `copy.deepcopy`."""


def json_copy(value: Any, plain_classes: frozenset[type] = frozenset()) -> Any:
    """`copy.deepcopy(value)`, faster when `value` is a JSON tree or an object of one of
    `plain_classes` (classes with no copy hooks nor `__slots__`) with JSON attributes."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    try:
        if kind in plain_classes:
            copied = kind.__new__(kind)
            copied.__dict__.update(_copy(vars(value), set()))
            return copied
        return _copy(value, set())
    except _NotJson:
        return copy.deepcopy(value)


def _copy(value: Any, seen: set[int]) -> Any:
    kind = type(value)
    if kind is not dict and kind is not list:
        raise _NotJson
    if id(value) in seen:  # reached twice: copy.deepcopy would keep it shared
        raise _NotJson
    seen.add(id(value))
    if kind is list:
        return [item if type(item) in _IMMUTABLE else _copy(item, seen) for item in value]
    copied = {}
    for key, item in value.items():
        if type(key) is not str:
            raise _NotJson
        copied[key] = item if type(item) in _IMMUTABLE else _copy(item, seen)
    return copied


def program_states(module: ModuleType) -> list[type]:
    """The program state classes of moto's `program_state` module."""
    base = module.ProgramState
    return [kind for kind in vars(module).values()
            if isinstance(kind, type) and issubclass(kind, base) and kind is not base]  # fmt: skip


def install() -> Callable[[], None]:
    """Give the interpreter's modules `json_copy` as their `copy.deepcopy`; return the undo.

    Installed with the others by cli/local/moto_patches.py, which checks the moto version.
    """
    import importlib

    from moto.stepfunctions.parser.asl.eval import program_state

    modules: list[ModuleType] = [importlib.import_module(name) for name in INTERPRETER_MODULES]
    originals = [module.copy for module in modules]
    states = frozenset(program_states(program_state))
    fast = SimpleNamespace(deepcopy=lambda value: json_copy(value, states))
    for module in modules:
        module.copy = fast

    def undo() -> None:
        for module, original in zip(modules, originals, strict=True):
            module.copy = original

    return undo
