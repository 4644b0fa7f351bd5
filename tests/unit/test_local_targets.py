"""Local targets like pytest's conftest.py: the nearest itest_local.py serves a scenario."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import ClassVar

import pytest
from itest.cli.errors import BadInput, InfraError
from itest.cli.local.targets import (
    LOCAL_TARGET_TEMPLATE,
    describe,
    enter_targets,
    find_targets,
    nearest_target,
)
from itest.cli.scenarios import LoadedScenario, check_vars
from itest.lambdas.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[2]

TARGET = """\
from contextlib import contextmanager


@contextmanager
def local_target(aws):
    yield {{"api_url": "{url}"}}
"""


def start(files: list[Path], **kwargs) -> None:
    with enter_targets(find_targets(files), aws=object(), **kwargs):
        pass


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """tests/ and scenarios/ each with a target; tests/sub/ without; loose/ without."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "tests" / "itest_local.py", TARGET.format(url="http://loans"))
    write(tmp_path / "scenarios" / "itest_local.py", TARGET.format(url="http://orders"))
    for name in ("tests/loans.yaml", "tests/sub/deep.yaml", "scenarios/orders.yaml",
                 "loose/alone.yaml"):
        write(tmp_path / name, "")
    return tmp_path


def test_the_nearest_target_in_the_folder_or_a_parent_serves_a_scenario(project: Path):
    assert nearest_target(project / "tests/loans.yaml") == project / "tests/itest_local.py"
    assert nearest_target(project / "tests/sub/deep.yaml") == project / "tests/itest_local.py"
    assert nearest_target(project / "scenarios/orders.yaml") == (
        project / "scenarios/itest_local.py"
    )
    assert nearest_target(project / "loose/alone.yaml") is None


def test_the_search_stops_at_the_project(project: Path):
    write(project / "repo" / ".git" / "HEAD", "")
    write(project / "repo" / "t" / "a.yaml", "")
    write(project / "itest_local.py", TARGET.format(url="http://outside"))
    assert nearest_target(project / "repo/t/a.yaml") is None


def test_two_folders_each_get_their_own_target_in_one_command(project: Path):
    files = [project / "tests/loans.yaml", project / "scenarios/orders.yaml",
             project / "tests/sub/deep.yaml", project / "loose/alone.yaml"]
    with enter_targets(find_targets(files), aws=object()) as served:
        assert served.vars_for(files[0]) == {"api_url": "http://loans"}
        assert served.vars_for(files[1]) == {"api_url": "http://orders"}
        assert served.vars_for(files[2]) == {"api_url": "http://loans"}
        assert served.vars_for(files[3]) == {}


def test_the_cli_says_which_target_serves_which_scenario(project: Path):
    files = [project / "tests/loans.yaml", project / "tests/sub/deep.yaml",
             project / "loose/alone.yaml"]
    lines = describe(find_targets(files), lambda path: path.stem)
    assert lines == [
        "local target tests/itest_local.py serves loans, deep",
        "no itest_local.py found for alone (searched its folder and parents): "
        "its vars come from `vars:` and --var only",
    ]


def test_a_target_failing_before_it_yields_names_the_users_file_and_line(project: Path,
                                                                        monkeypatch, capsys):
    write(project / "bad" / "itest_local.py", """\
from contextlib import contextmanager


@contextmanager
def local_target(aws):
    settings = {}
    port = settings["port"]
    yield {}
""")
    write(project / "bad" / "a.yaml", "")
    monkeypatch.delenv("ITEST_DEBUG", raising=False)
    with pytest.raises(InfraError) as failed:
        start([project / "bad/a.yaml"])
    assert str(failed.value) == (
        "local target bad/itest_local.py failed to start at line 7: KeyError: 'port' "
        "(ITEST_DEBUG=1 shows the traceback)"
    )
    assert "contextlib" not in str(failed.value)
    assert capsys.readouterr().err == ""

    monkeypatch.setenv("ITEST_DEBUG", "1")
    with pytest.raises(InfraError):
        start([project / "bad/a.yaml"])
    err = capsys.readouterr().err
    assert "Traceback" in err and 'itest_local.py", line 7' in err


def test_a_target_that_does_not_import_names_its_line(project: Path):
    write(project / "bad" / "itest_local.py", "import os\n\ndef broken(:\n")
    write(project / "bad" / "a.yaml", "")
    with pytest.raises(BadInput, match=r"^local target bad/itest_local.py could not be loaded "
                                       r"at line 3: SyntaxError"):
        start([project / "bad/a.yaml"])


def test_a_target_that_blocks_before_yielding_is_bounded_by_the_timeout(project: Path):
    write(project / "slow" / "itest_local.py", """\
import time
from contextlib import contextmanager


@contextmanager
def local_target(aws):
    time.sleep(60)
    yield {}
""")
    write(project / "slow" / "a.yaml", "")
    began = time.monotonic()
    with pytest.raises(InfraError, match=r"slow/itest_local.py did not start within 1 s"):
        start([project / "slow/a.yaml"], timeout=1)
    assert time.monotonic() - began < 30  # not the 60 s the target blocks


def test_a_target_must_yield_a_dict(project: Path):
    write(project / "odd" / "itest_local.py", TARGET.replace('{{"api_url": "{url}"}}', "3"))
    write(project / "odd" / "a.yaml", "")
    with pytest.raises(InfraError, match="yielded int; it must yield a dict of vars"):
        start([project / "odd/a.yaml"])


def test_a_var_nothing_gives_is_a_configuration_message_naming_the_targets(project: Path):
    text = """\
name: loans
steps:
  - name: create
    action: http
    with: {method: POST, url: "{{ vars.api_url }}/loans"}
    expect: [{path: status, equals: 201}]
  - name: stored
    action: dynamodb.get_item
    with: {table: "{{ vars.loans_table }}", key: {pk: "{{ vars.loan_id }}"}}
    expect: [{path: item, exists: true}]
  - name: fetch
    action: http
    with: {url: "{{ vars.api_url }}/loans/{{ vars.loan_id }}"}
    expect: [{path: status, equals: 200}]
    capture: {loan_id: json.id}
"""
    deep = LoadedScenario(project / "tests/sub/deep.yaml", load_scenario(text, source="deep"))
    alone = LoadedScenario(project / "loose/alone.yaml", load_scenario(text, source="alone"))
    served = find_targets([deep.path, alone.path])
    vars_for = {deep.path: {"api_url": "http://loans", "loans_table": "t"}, alone.path: {}}
    with pytest.raises(BadInput) as failed:
        check_vars([deep, alone], vars_for, served)
    lines = str(failed.value).splitlines()
    assert lines[0] == (
        f"{deep.path}: steps['stored'].with.key.pk: vars.loan_id is not declared in `vars:`, "
        "captured by an earlier step nor given to the run (step 'fetch' captures it, later); "
        f"yield it from its local target {project / 'tests/itest_local.py'} or pass it with "
        "--var KEY=VALUE"
    )
    assert f"{alone.path}: steps['create'].with.url: vars.api_url is not declared" in lines[2]
    assert lines[2].endswith("or yield it from an itest_local.py in the scenario's folder or "
                             "a parent (none was found)")
    assert len(lines) == 7  # deep: loan_id twice; alone: those and api_url twice, loans_table


def test_the_documented_template_is_the_one_init_writes_and_it_runs(tmp_path: Path):
    docs = (ROOT / "docs" / "scenarios.md").read_text()
    assert LOCAL_TARGET_TEMPLATE in docs
    write(tmp_path / "itest_local.py", LOCAL_TARGET_TEMPLATE)
    write(tmp_path / "a.yaml", "")

    class FakeDynamoDB:
        created: ClassVar[list[str]] = []

        def list_tables(self):
            return {"TableNames": []}

        def create_table(self, **kwargs):
            self.created.append(kwargs["TableName"])

    class FakeAws:
        def client(self, service):
            assert service == "dynamodb"
            return FakeDynamoDB()

    with enter_targets(find_targets([tmp_path / "a.yaml"]), FakeAws()) as served:
        assert served.vars_for(tmp_path / "a.yaml") == {"items_table": "my-service-items"}
    assert FakeDynamoDB.created == ["my-service-items"]
    assert re.search(r"def local_target\(aws: Any\)", LOCAL_TARGET_TEMPLATE)
