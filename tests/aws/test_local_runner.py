"""Lambda functions run as warm local processes behind the local AWS (cli/local)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from itest.cli.local.errors import LocalAwsError
from itest.cli.local.server import local_aws

from tests.aws import together
from tests.aws.lambda_zip import zip_files

if TYPE_CHECKING:
    from collections.abc import Iterator

    from itest.cli.local.server import LocalAws

HANDLER = """
import logging
import os
import time

import boto3
from together import wait_together

calls = 0


def handler(event, context):
    global calls
    calls += 1
    print(f"event {event}")
    logging.getLogger().warning("careful")
    if event.get("fail"):
        raise KeyError(event["fail"])
    wait_together(event)
    time.sleep(event.get("sleep", 0))
    queues = boto3.client("sqs").list_queues().get("QueueUrls", []) if event.get("aws") else None
    return {
        "calls": calls,
        "name": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "env": {k: os.environ.get(k) for k in ("COLOR", "AWS_ENDPOINT_URL", "AWS_PROFILE")},
        "queues": queues,
    }
"""
FILES = {"index.py": HANDLER, together.MODULE: together.SOURCE}


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    home = tmp_path_factory.mktemp("home")
    (home / "config").write_text("[profile developer]\nregion = eu-west-3\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ITEST_CACHE_DIR", str(home / "cache"))
        mp.setenv("AWS_CONFIG_FILE", str(home / "config"))  # a developer's own AWS setup
        mp.setenv("AWS_PROFILE", "developer")
        with local_aws() as local:
            yield local


def _create(aws: LocalAws, role: str, name: str, **config: Any) -> str:
    aws.client("lambda").create_function(
        FunctionName=name,
        Runtime=config.pop("Runtime", "python3.12"),
        Role=role,
        Handler=config.pop("Handler", "index.handler"),
        Code={"ZipFile": aws.register_code(zip_files(config.pop("files", FILES)))},
        **config,
    )
    return name


def _invoke(aws: LocalAws, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    response = aws.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event))
    return json.loads(response["Payload"].read()), response.get("FunctionError")


def test_handler_result_and_lambda_environment(aws: LocalAws, role: str) -> None:
    name = _create(aws, role, "result", Environment={"Variables": {"COLOR": "green"}})
    aws.client("sqs").create_queue(QueueName="seen-from-the-handler")

    payload, error = _invoke(aws, name, {"aws": True})

    assert error is None
    assert payload["name"] == "result"
    assert 0 < payload["remaining_ms"] <= 3000  # moto's default Timeout: 3 s
    assert payload["env"] == {
        "COLOR": "green",
        "AWS_ENDPOINT_URL": aws.endpoint_url,
        "AWS_PROFILE": None,  # nothing of the developer's AWS setup leaks in
    }
    assert payload["queues"] == [f"{aws.endpoint_url}/{aws.account_id}/seen-from-the-handler"]


def test_handler_exception_is_lambdas_error_payload(aws: LocalAws, role: str) -> None:
    name = _create(aws, role, "raises")

    payload, error = _invoke(aws, name, {"fail": "missing"})

    assert error == "Unhandled"
    assert payload["errorType"] == "KeyError"  # what a state machine's Catch matches on
    assert payload["errorMessage"] == "'missing'"
    assert any("index.py" in line and "handler" in line for line in payload["stackTrace"])


def test_import_error_is_runtime_import_module_error(aws: LocalAws, role: str) -> None:
    name = _create(aws, role, "broken", files={"index.py": "import not_installed_anywhere\n"})

    payload, error = _invoke(aws, name, {})

    assert error
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert "not_installed_anywhere" in payload["errorMessage"]


def test_only_python_functions_run(aws: LocalAws, role: str) -> None:
    name = _create(
        aws, role, "node", Runtime="nodejs20.x", files={"index.js": "exports.handler = 1"}
    )

    payload, error = _invoke(aws, name, {})

    assert error
    assert payload["errorType"] == "Runtime.InvalidRuntime"


def test_module_state_survives_between_invocations(aws: LocalAws, role: str) -> None:
    name = _create(aws, role, "warm")

    first, _ = _invoke(aws, name, {})
    second, _ = _invoke(aws, name, {})

    assert (first["calls"], second["calls"]) == (1, 2)


def test_concurrent_invocations_get_their_own_process(
    aws: LocalAws, role: str, tmp_path: Path
) -> None:
    """Each invocation waits in its handler until both are in one (not a sleep that a
    slow machine could end before the second one arrives)."""
    name = _create(aws, role, "concurrent", Timeout=60)
    held = together.together(tmp_path, 2)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: _invoke(aws, name, held)[0], range(2)))

    assert len(list(tmp_path.iterdir())) == 2  # in two processes at once
    assert [r["calls"] for r in results] == [1, 1]


def test_timeout_kills_the_process_and_the_next_call_starts_cold(aws: LocalAws, role: str) -> None:
    name = _create(aws, role, "slow", Timeout=1)
    _invoke(aws, name, {})

    started = time.monotonic()
    payload, error = _invoke(aws, name, {"sleep": 60})

    assert time.monotonic() - started < 30  # killed at its 1 s, not after the 60 s sleep
    assert error
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]
    assert _invoke(aws, name, {})[0]["calls"] == 1


def test_a_changed_configuration_runs_as_changed(aws: LocalAws, role: str) -> None:
    """The spec is kept per configuration: new variables, new code, a new timeout are
    what the next invocation runs with; a code folder removed from the cache is
    extracted again."""
    from itest.cli.local.cache import cache_root

    name = _create(aws, role, "reconfigured", Environment={"Variables": {"COLOR": "green"}})
    lam = aws.client("lambda")
    assert _invoke(aws, name, {})[0]["env"]["COLOR"] == "green"

    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"COLOR": "blue"}}, Timeout=30
    )
    payload, _ = _invoke(aws, name, {})
    assert payload["env"]["COLOR"] == "blue"
    assert 3000 < payload["remaining_ms"] <= 30000  # more than the 3 s it had

    changed = HANDLER.replace('"calls": calls,', '"calls": calls, "changed": True,')
    lam.update_function_code(
        FunctionName=name, ZipFile=aws.register_code(zip_files({**FILES, "index.py": changed}))
    )
    assert _invoke(aws, name, {})[0]["changed"] is True

    extracted = list((cache_root() / "lambda-code").iterdir())
    for folder in extracted:
        shutil.rmtree(folder)
    payload, error = _invoke(aws, name, {})
    assert error is None and payload["changed"] is True
    assert any(folder.is_dir() for folder in extracted)


def test_logs_land_in_cloudwatch_logs_like_lambdas(aws: LocalAws, role: str) -> None:
    name = _create(aws, role, "logged")
    response = aws.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps({"n": 7}), LogType="Tail"
    )
    tail = base64.b64decode(response["LogResult"]).decode()

    events = aws.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    messages = [e["message"] for e in events]

    assert messages[0].startswith("START RequestId: ")
    assert "event {'n': 7}" in messages
    assert any(m.startswith("[WARNING]\t") and m.endswith("\tcareful") for m in messages)
    assert messages[-2].startswith("END RequestId: ")
    assert messages[-1].startswith("REPORT RequestId: ") and "Init Duration" in messages[-1]
    assert "event {'n': 7}" in tail and "REPORT RequestId" in tail


def test_logging_config_log_group_is_honoured(aws: LocalAws, role: str) -> None:
    aws.client("logs").create_log_group(logGroupName="shared-handlers")
    name = _create(aws, role, "grouped", LoggingConfig={"LogGroup": "shared-handlers"})

    _invoke(aws, name, {})

    events = aws.client("logs").filter_log_events(logGroupName="shared-handlers")["events"]
    assert any(e["message"].startswith("REPORT RequestId: ") for e in events)


def test_env_points_another_process_at_the_local_aws(aws: LocalAws) -> None:
    aws.client("s3").create_bucket(Bucket="seen-from-outside")
    code = "import boto3; print([b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']])"
    env = {"PATH": os.environ["PATH"], "AWS_CONFIG_FILE": os.devnull, **aws.env()}

    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)

    assert "seen-from-outside" in out.stdout, out.stderr


def test_a_second_local_aws_in_one_process_is_refused(aws: LocalAws) -> None:
    with pytest.raises(LocalAwsError, match="already running"), local_aws():
        pass
