"""The bad-input corpus: every file in tests/bad_scenarios is rejected by `itest validate`
with exit code 2, naming the file, where the problem is and what it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from itest.cli.main import cli
from itest.lambdas.scenario import limits

CORPUS = Path(__file__).resolve().parents[1] / "bad_scenarios"
EXPECTED: dict[str, dict[str, str]] = json.loads((CORPUS / "expected.json").read_text())


def validate(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", str(path)])
    return result.exit_code, result.output


def assert_rejected(path: Path, where: str, reason: str, file: Path | None = None) -> None:
    """`file` is where the problem is when not in `path` itself (an included fragment)."""
    code, output = validate(path)
    assert code == 2, output
    assert "Traceback" not in output
    line = next((ln for ln in output.splitlines() if reason in ln), None)
    assert line is not None, f"{reason!r} not in:\n{output}"
    file = file or path
    assert f"{file}: {where}: " in line if where else f"{file}: {reason}" in line, line


def test_the_corpus_is_big_and_every_file_has_its_expectation() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.is_file() and p.name != "expected.json"}
    assert files == set(EXPECTED)
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_bad_file_is_rejected_with_where_and_why(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CORPUS.parents[1])  # paths as a user types them: tests/bad_scenarios/...
    corpus = CORPUS.relative_to(CORPUS.parents[1])
    expected = EXPECTED[name]
    file = corpus / expected["file"] if "file" in expected else None
    assert_rejected(corpus / name, expected["where"], expected["reason"], file)


def test_a_file_over_the_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "huge.yaml"
    padding = "x" * (limits.SCENARIO_LIMIT_BYTES + 10)
    big.write_text(f"name: huge\ndescription: {padding}\nsteps: []\n")
    assert_rejected(big, "", "the file is 256 KiB; a scenario may be at most 256 KiB")


def test_too_many_steps(tmp_path: Path) -> None:
    many = tmp_path / "many.yaml"
    steps = "".join(
        f"  - {{name: s{i}, action: wait, with: {{seconds: 1}}}}\n"
        for i in range(limits.MAX_STEPS + 1)
    )
    many.write_text(f"name: many\ntimeout_seconds: 3600\nsteps:\n{steps}")
    assert_rejected(many, "steps", "301 steps; a scenario may have at most 300")


def test_every_problem_of_every_file_is_listed_in_one_go() -> None:
    files = [CORPUS / "bad-name.yaml", CORPUS / "unknown-action.yaml", CORPUS / "empty.yaml"]
    result = CliRunner().invoke(cli, ["validate", *map(str, files)])
    assert result.exit_code == 2
    for path in files:
        assert str(path) in result.output
