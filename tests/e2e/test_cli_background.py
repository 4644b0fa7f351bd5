"""`itest local up`, then run / status / logs / list against it from other processes, as
from another terminal, then `itest local down` with no Lambda worker left behind."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from itest.cli.local import background

from tests.e2e.conftest import itest

pytestmark = pytest.mark.e2e


def children(pid: int) -> set[int]:
    """Processes whose parent is `pid` (the daemon's Lambda workers)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pids: set[int]) -> set[int]:
    return {p for p in pids if Path(f"/proc/{p}").exists()
            and "Z" not in Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]}


@pytest.fixture(scope="module")
def daemon():
    assert background.read_state() is None
    up = itest("local", "up")
    assert up.returncode == 0, up.stdout + up.stderr
    state = background.running()
    assert state is not None
    yield state
    itest("local", "down")


def test_up_is_idempotent_and_status_says_where(daemon):
    again = itest("local", "up")
    assert again.returncode == 0
    assert f"local AWS already up at {daemon.endpoint} (pid {daemon.pid})" in again.stdout
    status = itest("local", "status", "--format", "json")
    assert status.returncode == 0
    described = json.loads(status.stdout)
    assert described["state"] == "up" and described["endpoint"] == daemon.endpoint
    assert described["state_machine_arn"].startswith("arn:aws:states:us-east-1:")


def test_it_is_closed_to_all_but_the_credentials_status_prints(daemon):
    import boto3
    from botocore.exceptions import ClientError

    described = json.loads(itest("local", "status", "--format", "json").stdout)
    env = described["env"]
    assert env["AWS_ENDPOINT_URL"] == daemon.endpoint
    assert env["AWS_ACCESS_KEY_ID"] == described["credentials"]["aws_access_key_id"]

    def s3(**credentials: str):
        return boto3.client(
            "s3", endpoint_url=daemon.endpoint, region_name=described["region"], **credentials
        )

    owner = s3(**described["credentials"])
    assert "Buckets" in owner.list_buckets()
    with pytest.raises(ClientError) as refused:
        s3(aws_access_key_id="testing", aws_secret_access_key="testing").create_bucket(
            Bucket="not-theirs"
        )
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "not-theirs" not in {b["Name"] for b in owner.list_buckets()["Buckets"]}

    folder = background.state_dir()
    assert folder.stat().st_mode & 0o777 == 0o700
    for name in ("state.json", "server.log"):
        assert (folder / name).stat().st_mode & 0o777 == 0o600, name


def test_run_status_logs_and_list_from_other_processes(daemon):
    run = itest("run", "scenarios/", "--local", "--parallel", "4", "--format", "json")
    assert run.returncode == 1, run.stderr  # the fails-on-purpose example
    runs = {r["scenario"]: r for r in json.loads(run.stdout)["runs"]}
    failed = runs["orders-wrong-quantity-fails-on-purpose"]
    assert failed["status"] == "failed"
    assert runs["orders-happy-path"]["status"] == "passed"
    assert "started" in run.stderr and "failed" in run.stderr  # progress lines, not a terminal

    arn = failed["execution_arn"]
    status = itest("status", arn)  # no --local: a local-account ARN finds it
    assert status.returncode == 1
    assert "item.qty: expected 3, got 2" in status.stdout

    logs = itest("logs", "--local", arn)
    assert logs.returncode == 0, logs.stderr
    assert "order stored with the wrong quantity" in logs.stdout
    assert " action " in logs.stdout and "outcome=failed" in logs.stdout
    assert "execution failed: ScenarioFailed" in logs.stdout

    listed = itest("list", "--local", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    run_ids = {e["run_id"] for e in json.loads(listed.stdout)["executions"]}
    assert {r["run_id"] for r in runs.values()} <= run_ids


def test_upload_gives_an_input_a_pipeline_can_start(daemon):
    """`itest upload --label ci` puts the scenario at a fixed key and prints the
    execution input; starting the state machine with it (as CodePipeline's invoke
    action does) runs the scenario."""

    from itest.cli.local.targets import enter_targets, find_targets

    scenario = Path("scenarios/orders-happy-path.yaml")
    aws = background.connection(daemon)
    with enter_targets(find_targets([scenario]), aws) as served:
        provided = served.vars_for(scenario)
        up = itest("upload", str(scenario), "--local", "--label", "ci",
                   *(f"--var={k}={v}" for k, v in provided.items()))
        assert up.returncode == 0, up.stderr
        (line,) = [json.loads(text) for text in up.stdout.splitlines()]
        assert line["input"]["scenario"]["key"] == "scenarios/orders-happy-path/ci.json"
        sfn = aws.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=line["state_machine_arn"],
            name="orders-happy-path-from-a-pipeline",
            input=json.dumps(line["input"]),
        )["executionArn"]
        deadline = time.monotonic() + 60
        while (status := sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
            assert time.monotonic() < deadline, "the execution did not end in 60 s"
            time.sleep(0.2)
    assert status == "SUCCEEDED"


def test_run_redeploys_when_the_sources_changed_since_up(daemon):
    from itest.cli.local.cache import sources_key
    from itest.cli.local.orchestrator import synth_sources

    state = background.running()
    state.sources_key = "deployed-from-older-sources"
    background.write_state(state)
    run = itest("run", "scenarios/orders-happy-path.yaml", "--local")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "changed since `itest local up`: redeployed" in run.stderr
    assert background.running().sources_key == sources_key(synth_sources())
    again = itest("run", "scenarios/orders-happy-path.yaml", "--local")
    assert again.returncode == 0 and "redeployed" not in again.stderr


def test_down_stops_it_with_its_workers(daemon):
    workers = children(daemon.pid)
    assert workers, "the runs above started Lambda workers"
    down = itest("local", "down")
    assert down.returncode == 0
    assert f"local AWS at {daemon.endpoint} stopped" in down.stdout
    deadline = time.monotonic() + 30  # a killed process needs a moment to be gone
    while alive({daemon.pid} | workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive({daemon.pid} | workers)
    assert background.read_state() is None
    assert itest("local", "status").returncode == 3
    assert "no local AWS was running" in itest("local", "down").stdout
