"""`itest validate` in one pass: every problem at once, fixtures left out by
`.itestignore`, bodies from `json_file:`, warnings for what passes too easily."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from itest.cli.main import cli
from itest.cli.scenarios import collect

LAYERS = """\
name: layers
timeout_seconds: 20
steps:
  - name: create
    action: http
    with: {methd: POST, url: "http://x"}
    expect: [{path: status, equals: 201}]
  - name: poll
    action: http
    with: {url: "http://x"}
    expect: [{path: status, equal: 200}]
    retry: {timeout_seconds: 30}
cleanup:
  - action: http
    with: {method: DELETE, url: "http://x"}
    retry: {timeout_seconds: 90}
"""


def validate(*args: str):
    return CliRunner().invoke(cli, ["validate", *args])


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_model_cross_field_and_limit_problems_come_in_one_run(tmp_path: Path):
    path = write(tmp_path / "layers.yaml", LAYERS)
    result = validate(str(path))
    assert result.exit_code == 2
    assert "unknown field 'methd'; did you mean 'method'?" in result.output
    assert "unknown field 'equal'; did you mean 'equals'?" in result.output
    assert ("steps['poll'].retry.timeout_seconds: 30 s is longer than the scenario's "
            "timeout_seconds (20)") in result.output
    assert "cleanup[0].retry: the cleanups' retry windows add up to 90 s" in result.output


def test_every_problem_of_every_file_in_one_run(tmp_path: Path):
    write(tmp_path / "a.yaml", LAYERS)
    write(tmp_path / "b.yaml", "name: B\nsteps: []\n")
    result = validate(str(tmp_path))
    assert result.exit_code == 2
    assert "a.yaml: steps['create'].with" in result.output
    assert "b.yaml: name: expected text matching" in result.output
    assert "b.yaml: steps: expected at least 1 item" in result.output


GOOD = """\
name: books
steps:
  - name: add a book
    action: http
    with:
      method: POST
      url: "http://x/books"
      json_file: fixtures/book.json
    expect: [{path: status, equals: 201}]
"""


def test_itestignore_keeps_fixtures_out_with_gitignore_syntax(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "tests" / "books.yaml", GOOD)
    write(tmp_path / "tests" / "fixtures" / "book.json", '{"title": "{{ run_id }}"}')
    write(tmp_path / "tests" / "fixtures" / "keep.yaml", GOOD.replace("books", "kept"))
    result = validate("tests")
    assert result.exit_code == 2 and "fixtures/book.json: 'name' is required" in result.output

    write(tmp_path / ".itestignore", "# fixtures are not scenarios\n**/fixtures/*.json\n")
    assert collect((Path("tests"),)) == [Path("tests/books.yaml"),
                                         Path("tests/fixtures/keep.yaml")]
    write(tmp_path / "tests" / ".itestignore", "fixtures/\n")  # relative to its own folder
    assert collect((Path("tests"),)) == [Path("tests/books.yaml")]
    result = validate("tests", "tests/fixtures/book.json")  # a file named is never ignored
    assert result.exit_code == 2


def test_a_json_body_comes_from_a_file_beside_the_scenario(tmp_path: Path):
    from itest.lambdas.scenario.loading import load_scenario_file

    write(tmp_path / "fixtures" / "book.json", '{"title": "{{ run_id }}", "pages": 3}')
    scenario = load_scenario_file(write(tmp_path / "books.yaml", GOOD))
    assert scenario.steps[0].with_["json"] == {"title": "{{ run_id }}", "pages": 3}
    assert "json_file" not in scenario.to_json()

    missing = write(tmp_path / "missing.yaml", GOOD.replace("book.json", "nope.json"))
    result = validate(str(missing))
    assert result.exit_code == 2
    assert ("steps['add a book'].with.json_file: cannot read fixtures/nope.json: "
            "No such file or directory") in result.output
    both = write(tmp_path / "both.yaml", GOOD.replace("json_file:", "json: {}\n      json_file:"))
    assert "json_file: give json or json_file, not both" in validate(str(both)).output


@pytest.mark.parametrize("target", [None, "yield {'api_url': 'http://x'}"])
def test_validate_warns_about_what_would_pass_or_break_silently(tmp_path: Path, monkeypatch,
                                                               target):
    monkeypatch.chdir(tmp_path)
    if target:
        write(tmp_path / "itest_local.py",
              f"from contextlib import contextmanager\n\n\n@contextmanager\n"
              f"def local_target(aws):\n    {target}\n")
    write(tmp_path / "loans.yaml", """\
name: loans
steps:
  - name: create
    action: http
    with: {method: POST, url: "{{ vars.api_url }}/loans"}
  - name: stored
    action: dynamodb.get_item
    with: {table: loans, key: {pk: "{{ vars.loan_id }}"}}
    expect: [{path: item, exists: true}]
""")
    result = validate("loans.yaml")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings[0] == (
        "warning: loans.yaml: steps['create']: an http step without expect passes on any "
        "status, even 500: add e.g. expect: [{path: status, equals: 200}]"
    )
    unknown = [w for w in warnings if "is not declared" in w]
    names = [w.split("vars.")[1].split()[0] for w in unknown]
    assert names == (["loan_id"] if target else ["api_url", "loan_id"])
    assert unknown[-1].endswith("only a --var loan_id=... can give it")
