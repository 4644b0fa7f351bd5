"""The moto patches (cli/local/moto_patches.py): guarded by version, undone; the one
behind suites (cli/local/sfn_sync.py) normalises as AWS does."""

from __future__ import annotations

import moto
import pytest
from itest.cli.local import sfn_sync
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (  # noqa: E501
    StateTaskServiceSfn,
)


def test_the_patches_refuse_a_moto_they_were_not_checked_against(monkeypatch):
    from itest.cli.local import moto_patches
    from itest.cli.local.errors import StartError

    before = StateTaskServiceSfn._normalise_parameters
    monkeypatch.setattr(moto, "__version__", "6.0.0")
    with pytest.raises(StartError, match=r"needs moto 5\.2\.x .* but moto 6\.0\.0 is installed"):
        moto_patches.install({}, "123456789012", runner=None)  # type: ignore[arg-type]
    assert StateTaskServiceSfn._normalise_parameters is before  # nothing was patched


def test_every_patch_is_undone():
    from itest.cli.local import moto_patches
    from moto.awslambda.models import LambdaFunction
    from moto.events.models import Rule
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    patched = (LambdaFunction, "_invoke_lambda"), (Rule, "send_to_targets"), (
        StepFunctionsParserBackend, "start_execution")
    before = [getattr(owner, name) for owner, name in patched]
    credentials = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}
    uninstall = moto_patches.install(credentials, "123456789012", runner=None)  # type: ignore[arg-type]
    assert [getattr(owner, name) for owner, name in patched] != before
    uninstall()
    assert [getattr(owner, name) for owner, name in patched] == before


def test_the_patch_is_undone():
    before = (StateTaskServiceSfn._normalise_parameters, StateTaskServiceSfn._normalise_response)
    uninstall = sfn_sync.install()
    assert StateTaskServiceSfn._normalise_parameters is not before[0]
    uninstall()
    assert (
        StateTaskServiceSfn._normalise_parameters, StateTaskServiceSfn._normalise_response
    ) == before


def test_start_execution_parameters_and_results_take_the_apis_case():
    """As AWS: `StateMachineArn` reaches the API as `stateMachineArn`; the
    DescribeExecution result comes back PascalCased with dates in epoch ms."""
    import datetime

    uninstall = sfn_sync.install()
    try:
        task = StateTaskServiceSfn.__new__(StateTaskServiceSfn)
        parameters = {"StateMachineArn": "arn", "Name": "run-1", "Input": {"a": 1}}
        task._normalise_parameters(parameters, "stepfunctions", "start_execution")
        assert parameters.pop("input") in ('{"a": 1}', '{"a":1}')  # a string, as the API wants
        assert parameters == {"stateMachineArn": "arn", "name": "run-1"}
        response = {
            "executionArn": "arn:x",
            "status": "FAILED",
            "startDate": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
            "error": "ScenarioFailed",
        }
        task._normalise_response(response, "stepfunctions", "describe_execution")
        assert response == {
            "ExecutionArn": "arn:x",
            "Status": "FAILED",
            "StartDate": 1767225600000,
            "Error": "ScenarioFailed",
        }
    finally:
        uninstall()
