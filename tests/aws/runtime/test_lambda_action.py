"""lambda.invoke against a function really run by the local AWS (moto runs Lambda code
only in Docker; itest's local runner runs it as a process, as `--local` does)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest
from itest.lambdas.actions import lambda_
from itest.lambdas.actions.registry import run_action
from itest.lambdas.errors import ActionError

HANDLER = """
def handler(event, context):
    print(f"pricing {event}")
    if event.get("qty", 0) < 0:
        raise ValueError("qty must be positive")
    return {"total_cents": 1250 * event.get("qty", 1), "function": context.function_name}
"""


@pytest.fixture(autouse=True)
def fake_aws() -> Iterator[None]:
    """Not the in-process mock of conftest.py: it would answer instead of the local AWS."""
    yield


@pytest.fixture(scope="module")
def local() -> Iterator[object]:
    from itest.cli.local.server import local_aws

    with local_aws() as aws:
        role = aws.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.py", HANDLER)
        aws.client("lambda").create_function(
            FunctionName="pricing",
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="index.handler",
            Code={"ZipFile": aws.register_code(buffer.getvalue())},
        )
        yield aws


@pytest.fixture
def lambda_client(local, monkeypatch: pytest.MonkeyPatch) -> None:
    """The action's client talks to the local AWS (the in-process mock cannot run code)."""
    monkeypatch.setattr(lambda_, "target_client", lambda service: local.client(service))


@pytest.mark.usefixtures("lambda_client")
def test_payload_in_result_and_decoded_log_tail_out() -> None:
    result = run_action("lambda.invoke", {"function": "pricing", "payload": {"qty": 2}})

    assert result["status_code"] == 200
    assert result["function_error"] is None
    assert result["payload"] == {"total_cents": 2500, "function": "pricing"}
    assert "pricing {'qty': 2}" in result["logs"]


@pytest.mark.usefixtures("lambda_client")
def test_a_function_error_is_a_result_not_an_action_error() -> None:
    result = run_action("lambda.invoke", {"function": "pricing", "payload": {"qty": -1}})

    assert result["function_error"] == "Unhandled"
    assert result["payload"]["errorType"] == "ValueError"
    assert result["payload"]["errorMessage"] == "qty must be positive"
    assert "qty must be positive" in result["logs"]


@pytest.mark.usefixtures("lambda_client")
def test_logs_can_be_left_out_and_event_invocations_answer_202() -> None:
    quiet = run_action("lambda.invoke", {"function": "pricing", "logs": False})
    queued = run_action("lambda.invoke", {"function": "pricing", "invocation_type": "Event"})

    assert quiet["logs"] is None and quiet["payload"]["total_cents"] == 1250
    assert queued["status_code"] == 202 and queued["logs"] is None


@pytest.mark.usefixtures("lambda_client")
def test_a_missing_function_is_an_action_error() -> None:
    with pytest.raises(ActionError, match=r"lambda\.invoke nope: ResourceNotFoundException"):
        run_action("lambda.invoke", {"function": "nope"})
