"""A new user's first hour (issue 16), through the local state machine: their own
targets in two folders, a typo in a capture, cleanups that must say what success is,
run ids instead of ARNs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from itest.cli import commands
from itest.cli.connect import Where
from itest.cli.errors import BadInput
from itest.cli.main import cli

pytestmark = pytest.mark.e2e

# A target serving one resource: POST /<resource> answers 201, anything else 404.
API_HANDLER = '''\
import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESOURCE = "/{resource}"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{{}}")
        found = self.path == RESOURCE
        self.send_response(201 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({{"id": body.get("id"), "kind": RESOURCE}}).encode())

    do_DELETE = do_POST

    def log_message(self, *args):
        pass
'''

# Either handler, served on loopback for as long as the target is entered.
SERVE = '''

@contextmanager
def local_target(aws):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"api_url": f"http://127.0.0.1:{server.server_port}"}
    finally:
        server.shutdown()
'''


def api_target(resource: str) -> str:
    return API_HANDLER.format(resource=resource) + SERVE


CREATE = """\
name: {name}
steps:
  - name: create
    action: http
    with:
      method: POST
      url: "{{{{ vars.api_url }}}}/{resource}"
      json: {{id: "{{{{ run_id }}}}"}}
    expect: [{{path: status, equals: 201}}]
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_scenarios_in_two_folders_each_get_their_own_target(as_background, tmp_path, monkeypatch):
    """`itest run tests/loans.yaml scenarios/orders.yaml --local`: each POST reaches its
    own API, whatever the order of the arguments; tests/sub/ finds tests/itest_local.py."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "tests" / "itest_local.py", api_target("loans"))
    write(tmp_path / "scenarios" / "itest_local.py", api_target("orders"))
    loans = write(tmp_path / "tests" / "loans.yaml", CREATE.format(name="loans",
                                                                   resource="loans"))
    deep = write(tmp_path / "tests" / "sub" / "deep.yaml", CREATE.format(name="loans-deep",
                                                                          resource="loans"))
    orders = write(tmp_path / "scenarios" / "orders.yaml", CREATE.format(name="orders",
                                                                         resource="orders"))
    said: list[str] = []
    for paths in ((loans, orders, deep), (orders, deep, loans)):
        outcome = commands.run(
            Where(local=True), tuple(Path(p.relative_to(tmp_path)) for p in paths),
            overrides={}, wait=True, progress=False, say=said.append,
        )
        assert {r.scenario: r.status for r in outcome.reports} == {
            "loans": "passed", "loans-deep": "passed", "orders": "passed"
        }, [r.reason for r in outcome.reports]
    assert "local target tests/itest_local.py serves loans, loans-deep" in said
    assert "local target scenarios/itest_local.py serves orders" in said


def test_a_scenario_no_target_serves_is_a_configuration_message(as_background, tmp_path,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "tests" / "loans.yaml", CREATE.format(name="loans", resource="loans"))
    with pytest.raises(BadInput) as failed:
        commands.run(Where(local=True), (Path("tests"),), overrides={}, wait=True,
                     progress=False)
    assert str(failed.value) == (
        "tests/loans.yaml: steps['create'].with.url: vars.api_url is not declared in `vars:`, "
        "captured by an earlier step nor given to the run; pass it with --var KEY=VALUE, or "
        "yield it from an itest_local.py in the scenario's folder or a parent (none was found)"
    )


def test_a_failing_target_names_the_users_file_and_line(as_background, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ITEST_DEBUG", raising=False)
    write(tmp_path / "tests" / "itest_local.py",
          "from contextlib import contextmanager\n\n\n@contextmanager\ndef local_target(aws):\n"
          "    raise RuntimeError('port 8080 is taken')\n    yield {}\n")
    write(tmp_path / "tests" / "loans.yaml", CREATE.format(name="loans", resource="loans"))
    result = CliRunner().invoke(cli, ["run", "tests", "--local"])
    assert result.exit_code == 3, result.output
    assert ("Error: local target tests/itest_local.py failed to start at line 6: "
            "RuntimeError: port 8080 is taken") in result.output
    assert "contextlib.py" not in result.output


def test_a_target_that_blocks_is_bounded_by_timeout(as_background, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "tests" / "itest_local.py",
          "import time\nfrom contextlib import contextmanager\n\n\n@contextmanager\n"
          "def local_target(aws):\n    time.sleep(60)\n    yield {}\n")
    write(tmp_path / "tests" / "loans.yaml", CREATE.format(name="loans", resource="loans"))
    result = CliRunner().invoke(cli, ["run", "tests", "--local", "--timeout", "2"])
    assert result.exit_code == 3, result.output
    assert "did not start within 2 s (--timeout)" in result.output


def test_a_passing_run_prints_the_run_id_that_status_logs_and_list_take(as_background, tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "tests" / "itest_local.py", api_target("loans"))
    write(tmp_path / "tests" / "loans.yaml", CREATE.format(name="loans", resource="loans"))
    ran = CliRunner().invoke(cli, ["run", "tests", "--local"])
    assert ran.exit_code == 0, ran.output
    last = ran.stdout.rstrip().splitlines()[-1]
    assert last.startswith("status: itest status --local loans-"), ran.stdout
    run_id = last.split()[-1]

    status = CliRunner().invoke(cli, last.removeprefix("status: itest ").split())
    assert status.exit_code == 0, status.output
    assert f"loans  PASSED  {run_id}" in status.output
    logs = CliRunner().invoke(cli, ["logs", "--local", run_id])
    assert logs.exit_code == 0 and "execution succeeded" in logs.output, logs.output
    listed = CliRunner().invoke(cli, ["list", "--local", "tests", "--limit", "50"])
    assert [run_id, "passed"] in [line.split()[:2] for line in listed.output.splitlines()]


# The user's loans API: POST /loans answers {"loanId": ...}; DELETE /loans/<id> is
# refused (403) for ids starting "locked"; /late/<id> exists 2 s after its first DELETE.
LOANS_HANDLER = '''\
import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIRST_SEEN = {}


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/loans":
            return self.reply(201, {"loanId": body["id"]})
        return self.reply(500, {"error": "boom"})

    def do_DELETE(self):
        if self.path.startswith("/late/"):
            first = FIRST_SEEN.setdefault(self.path, time.monotonic())
            return self.reply(204 if time.monotonic() - first > 2 else 404)
        if self.path.startswith("/loans/locked"):
            return self.reply(403, {"error": "forbidden"})
        return self.reply(204)

    def log_message(self, *args):
        pass
'''

LOAN = """\
name: {name}
steps:
  - name: create loan
    action: http
    with: {{method: POST, url: "{{{{ vars.api_url }}}}/{path}", json: {{id: "{loan_id}"}}}}
    expect: [{{path: status, equals: 201}}]
    capture: {{loan_id: {capture}}}
    cleanup:
{cleanup}
  - name: loan stored
    action: http
    with: {{url: "{{{{ vars.api_url }}}}/loans/{{{{ vars.loan_id }}}}", method: DELETE}}
    expect: [{{path: status, equals: 204}}]
"""
DELETE_LOAN = """\
      action: http
      with: {method: DELETE, url: "{{ vars.api_url }}/loans/{{ vars.loan_id }}"}"""


def run_loan(tmp_path: Path, **fields: str):
    """One loans scenario through the state machine: its report and the CLI's table."""
    values = {"name": "loans", "path": "loans", "loan_id": "l-{{ run_id }}",
              "capture": "json.loanId", "cleanup": DELETE_LOAN, **fields}
    write(tmp_path / "tests" / "itest_local.py", LOANS_HANDLER + SERVE)
    write(tmp_path / "tests" / f"{values['name']}.yaml", LOAN.format(**values))
    result = CliRunner().invoke(cli, ["run", f"tests/{values['name']}.yaml", "--local",
                                      "--format", "json", "--output", "report.json"])
    (run,) = json.loads((tmp_path / "report.json").read_text())["runs"]
    return run, result


def test_a_typo_in_a_capture_fails_the_step_instead_of_storing_null(as_background, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    run, result = run_loan(tmp_path, capture="json.loanid")
    assert result.exit_code == 1, result.output
    assert run["status"] == "failed"
    assert run["reason"].startswith(
        "step 'create loan' failed: capture 'loan_id': json.loanid selected nothing"
    )
    assert [s["status"] for s in run["steps"]] == ["failed", "skipped"]
    (cleanup,) = run["cleanup"]["actions"]  # the step ran: its cleanup is owed, but cannot run
    assert cleanup["status"] == "skipped"


def test_a_cleanup_refused_with_403_is_a_failed_cleanup(as_background, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run, result = run_loan(tmp_path, loan_id="locked-{{ run_id }}")
    assert result.exit_code == 1
    assert run["cleanup"]["status"] == "failed"
    assert run["cleanup"]["actions"][0]["status"] == "failed"
    assert run["cleanup"]["actions"][0]["error"].startswith(
        "status 403 (an http cleanup without expect fails on a status >= 400"
    )


def test_a_red_cleanup_fails_a_run_whose_steps_passed_unless_allowed(as_background, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    only_create = LOAN.split("  - name: loan stored")[0]
    write(tmp_path / "tests" / "itest_local.py", LOANS_HANDLER + SERVE)
    for name, extra, code in (("locked", "", 1), ("locked-allowed", "\n      allow_failure: true",
                                                  0)):
        text = only_create.format(name=name, path="loans", loan_id="locked-{{ run_id }}",
                                  capture="json.loanId", cleanup=DELETE_LOAN + extra)
        write(tmp_path / "tests" / f"{name}.yaml", text)
        result = CliRunner().invoke(cli, ["run", f"tests/{name}.yaml", "--local"])
        assert result.exit_code == code, result.output
        assert "cleanup create loan (http) failed" in result.output
        if code:
            assert "reason: cleanup: 1 of 1 failed, first 'create loan': status 403" in (
                result.output)
        else:
            assert "failed (allow_failure): status 403" in result.output


def test_a_cleanup_whose_name_was_never_captured_is_skipped_with_the_reason(
    as_background, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    run, result = run_loan(tmp_path, path="broken")  # 500: the step fails before its capture
    assert result.exit_code == 1
    (cleanup,) = run["cleanup"]["actions"]
    assert cleanup == {
        "name": "create loan", "action": "http", "status": "skipped",
        "error": "vars.loan_id was never captured (step 'create loan' failed before its "
                 "capture): nothing to clean up",
    }
    assert run["cleanup"]["status"] == "passed"
    assert run["reason"] == "step 'create loan' failed: status: expected 201, got 500"
    assert "cleanup create loan (http) skipped: vars.loan_id was never captured" in result.output


def test_a_cleanup_retries_until_the_service_has_created_the_thing(as_background, tmp_path,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    late = """\
      action: http
      with: {method: DELETE, url: "{{ vars.api_url }}/late/{{ vars.loan_id }}"}
      expect: [{path: status, equals: 204}]
      retry: {timeout_seconds: 20, interval_seconds: 1}"""
    run, result = run_loan(tmp_path, cleanup=late)
    assert result.exit_code == 0, result.output
    assert run["cleanup"]["actions"][0]["status"] == "passed"


def test_a_fixture_body_beside_the_scenarios_is_left_out_and_sent(as_background, tmp_path,
                                                                  monkeypatch):
    """A `fixtures/loan.json` in the scenarios' folder: `.itestignore` keeps it from being
    read as a scenario, and `json_file:` sends it (its templates rendered)."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "tests" / "itest_local.py", LOANS_HANDLER + SERVE)
    write(tmp_path / "tests" / "fixtures" / "loan.json", '{"id": "fixture-{{ run_id }}"}')
    write(tmp_path / "tests" / ".itestignore", "fixtures/\n")
    write(tmp_path / "tests" / "loans.yaml", """\
name: loans-from-a-fixture
steps:
  - name: create loan
    action: http
    with: {method: POST, url: "{{ vars.api_url }}/loans", json_file: fixtures/loan.json}
    expect: [{path: status, equals: 201}, {path: json.loanId, equals: "fixture-{{ run_id }}"}]
""")
    result = CliRunner().invoke(cli, ["run", "tests", "--local"])
    assert result.exit_code == 0, result.output
    assert "loans-from-a-fixture  PASSED" in result.output


def test_after_timeout_a_run_still_going_is_pending_with_its_status_command(
    as_background, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "tests" / "itest_local.py", LOANS_HANDLER + SERVE)
    write(tmp_path / "tests" / "slow.yaml", """\
name: slow-loans
timeout_seconds: 300
steps:
  - name: create loan
    action: http
    with: {method: POST, url: "{{ vars.api_url }}/loans", json: {id: "{{ run_id }}"}}
    expect: [{path: status, equals: 201}]
  - name: settle
    action: wait
    with: {seconds: 120}
  - name: loan settled
    action: http
    with: {method: DELETE, url: "{{ vars.api_url }}/loans/{{ run_id }}"}
    expect: [{path: status, equals: 204}]
""")
    # the first step must pass within the CLI's wait even on a loaded machine (cold
    # workers); the wait after it outlasts the CLI's wait by far
    result = CliRunner().invoke(cli, ["run", "tests", "--local", "--timeout", "20",
                                      "--format", "json", "--output", "report.json"])
    assert result.exit_code == 3, result.output
    (run,) = json.loads((tmp_path / "report.json").read_text())["runs"]
    assert run["status"] == "timeout" and run["execution_status"] == "RUNNING"
    assert [s["status"] for s in run["steps"]] == ["passed", "pending", "pending"]
    assert run["reason"] == (
        f"still running when the wait ended; the execution goes on: "
        f"itest status --local {run['run_id']}"
    )
    assert "skipped" not in result.stdout
    assert result.stdout.rstrip().endswith(f"status: itest status --local {run['run_id']}")
