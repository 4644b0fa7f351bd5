"""The moto patch behind suites (cli/local/sfn_sync.py): guarded by version, undone."""

from __future__ import annotations

import moto
import pytest
from itest.cli.local import sfn_sync
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (  # noqa: E501
    StateTaskServiceSfn,
)


def test_the_patch_refuses_a_moto_it_was_not_checked_against(monkeypatch):
    monkeypatch.setattr(moto, "__version__", "6.0.0")
    with pytest.raises(RuntimeError, match=r"moto \('5\.2\.',\), not 6\.0\.0"):
        sfn_sync.install()


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
