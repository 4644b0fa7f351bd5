"""`json_copy` is `copy.deepcopy` for whatever moto's interpreter copies (cli/local/sfn_copy.py)."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest
from itest.cli.local.sfn_copy import json_copy, program_states

SHARED = ["shared"]


class Plain:
    def __init__(self) -> None:
        self.items = [1, 2]


@pytest.mark.parametrize(
    "value",
    [
        None, True, 0, -3, 2.5, "text", [], {},
        {"a": [1, 2.0, None, True, {"b": "c"}], "d": {"e": [[], {}]}, "f": ""},
        [{"k": "v"}, [1, [2, [3]]]],
    ],
)  # fmt: skip
def test_a_json_value_is_copied_as_deepcopy_copies_it(value: Any) -> None:
    copied = json_copy(value)

    assert copied == copy.deepcopy(value)
    for mine, theirs in zip(_containers(copied), _containers(value), strict=True):
        assert mine is not theirs  # nothing shared with the original


def test_keys_keep_their_order() -> None:
    value = {"z": 1, "a": {"y": 2, "b": 3}}

    assert list(json_copy(value)) == ["z", "a"]
    assert list(json_copy(value)["a"]) == ["y", "b"]


@pytest.mark.parametrize(
    "value",
    [
        {"when": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)},
        [Plain()],
        {"pair": (1, [2])},
        {1: "an int key"},
        {"first": SHARED, "second": SHARED},  # one list reached twice
    ],
    ids=["datetime", "object", "tuple", "int-key", "shared-list"],
)
def test_anything_else_is_left_to_deepcopy(value: Any) -> None:
    copied = json_copy(value)
    expected = copy.deepcopy(value)

    assert _shape(copied) == _shape(expected)
    if isinstance(value, dict) and "first" in value:
        assert copied["first"] is copied["second"]  # shared as deepcopy shares it
        assert copied["first"] is not SHARED


def test_an_object_is_deep_copied() -> None:
    original = Plain()

    copied = json_copy(original)

    assert copied is not original and copied.items == [1, 2]
    assert copied.items is not original.items


def _containers(value: Any) -> Any:
    if isinstance(value, dict | list):
        yield value
        for item in value.values() if isinstance(value, dict) else value:
            yield from _containers(item)


def _shape(value: Any) -> Any:
    """A comparable form of `value` (objects by their attributes)."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_shape(item) for item in value)
    if isinstance(value, Plain):
        return ("Plain", _shape(value.items))
    return value


def test_moto_program_states_are_copied_as_deepcopy_copies_them() -> None:
    from moto.stepfunctions.parser.asl.eval import program_state

    classes = program_states(program_state)
    running = program_state.ProgramRunning()
    running.next_state_name = "Action"
    running.next_field_name = "Parameters"
    values = [
        running,
        program_state.ProgramRunning(),
        program_state.ProgramEnded(),
        program_state.ProgramTimedOut(),
        program_state.ProgramError({"error": "E", "cause": "C"}),
        program_state.ProgramStopped(datetime.datetime(2026, 1, 1), "E", None),  # a datetime
    ]

    assert {type(value) for value in values} == set(classes)
    for value in values:
        copied, expected = json_copy(value, frozenset(classes)), copy.deepcopy(value)
        assert type(copied) is type(expected) and copied is not value
        assert vars(copied) == vars(expected)
    error = values[4]
    assert json_copy(error, frozenset(classes)).error is not error.error


def test_no_program_state_class_has_copy_hooks() -> None:
    """What makes `json_copy`'s rebuild the same as `copy.deepcopy`'s, checked per moto."""
    from moto.stepfunctions.parser.asl.eval import program_state

    for kind in program_states(program_state):
        assert not hasattr(kind, "__deepcopy__") and not hasattr(kind, "__setstate__"), kind
        assert not any(vars(base).get("__slots__") for base in kind.__mro__), kind
        for hook in ("__reduce_ex__", "__reduce__", "__getstate__", "__new__"):
            assert getattr(kind, hook) is getattr(object, hook), (kind, hook)
