"""A JSONPath that names fields only is found by walking dicts, with moto's answers and
errors (cli/local/fast_paths.py's FieldChain)."""

from __future__ import annotations

from typing import Any

import pytest
from itest.cli.local.fast_paths import FieldChain

DATA: list[Any] = [
    {"a": {"b": [1, {"c": None}], "a-b": 2}, "Payload": {"outcome": "passed"}, "n": 0},
    {"a": [{"b": 1}, {"b": 2}]},  # a list where a dict is named: jsonpath-ng's own answer
    {"a": "text"},
    {"a": None},
    {"a": {"b": {"c": 3}}, "a-b": "dashed"},
    [{"a": 1}],
    "text",
    {},
]
PATHS = ["$.a", "$.a.b", "$.a.b.c", "$.Payload", "$.Payload.outcome", "$['a']", "$.a-b",
         "$.n", "$.missing", "$.a[0]", "$.a[*].b", "$.a.*", "$..b"]  # fmt: skip


def _answer(extract: Any, path: str, data: Any) -> Any:
    try:
        return ("value", extract(path, data))
    except Exception as error:  # the error is the answer compared
        return ("error", type(error).__name__, str(error))


@pytest.mark.parametrize("path", PATHS)
def test_a_path_finds_what_jsonpath_ng_finds(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    original = json_path.parse
    theirs = [_answer(json_path.extract_json, path, data) for data in DATA]
    monkeypatch.setattr(json_path, "parse", lambda text: FieldChain.of(original(text)))
    mine = [_answer(json_path.extract_json, path, data) for data in DATA]

    assert mine == theirs
    assert any(answer[0] == "value" for answer in mine) == (path != "$.missing")


def test_only_field_chains_are_walked() -> None:
    from jsonpath_ng.ext import parse

    walked = {path for path in PATHS if isinstance(FieldChain.of(parse(path)), FieldChain)}

    assert walked == {"$.a", "$.a.b", "$.a.b.c", "$.Payload", "$.Payload.outcome", "$['a']",
                      "$.a-b", "$.n", "$.missing"}  # fmt: skip


def test_a_found_value_is_the_data_itself_not_a_copy() -> None:
    from jsonpath_ng.ext import parse

    data = {"a": {"b": [1]}}

    (match,) = FieldChain.of(parse("$.a.b")).find(data)

    assert match.value is data["a"]["b"]
