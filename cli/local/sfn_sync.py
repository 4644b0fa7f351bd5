"""`arn:aws:states:::states:startExecution.sync:2` on the local AWS.

moto 5.2.5's interpreter (LocalStack's, trimmed) has the Step Functions
integration and its `.sync:2` poller, but its request and response
normalisation are empty stubs: the state's `StateMachineArn`/`Input`/`Name`
reach boto3 as they are written (the API wants `stateMachineArn`...), so every
child start ends in `States.Runtime: 'StateMachineArn'`. `install()` restores
the normalisation for that integration only, through botocore's own model, as
AWS does: parameters are matched to the API's members whatever their case,
and the results come back PascalCased (`ExecutionArn`, `Status`, `Output`...),
with dates as epoch milliseconds like AWS's `.sync:2` output.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from typing import Any


def install() -> Callable[[], None]:
    """Patch moto's Step Functions integration; return the function that undoes it.

    Installed with the others by cli/local/moto_patches.py, which checks the moto version.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (  # noqa: E501
        StateTaskServiceSfn,
    )

    normalise_parameters = StateTaskServiceSfn._normalise_parameters
    normalise_response = StateTaskServiceSfn._normalise_response

    def normalise_parameters_(
        self: Any,
        parameters: dict,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        normalise_parameters(self, parameters, boto_service_name, service_action_name)
        operation = _operation(
            self._get_boto_service_name(boto_service_name),
            self._get_boto_service_action(service_action_name),
        )
        self._to_boto_request(parameters, operation.input_shape)

    def normalise_response_(
        self: Any,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        operation = _operation(
            self._get_boto_service_name(boto_service_name),
            self._get_boto_service_action(service_action_name),
        )
        self._from_boto_response(response, operation.output_shape)
        if isinstance(response, dict):
            for key, value in response.items():
                if isinstance(value, datetime.datetime):
                    response[key] = int(value.timestamp() * 1000)

    StateTaskServiceSfn._normalise_parameters = normalise_parameters_
    StateTaskServiceSfn._normalise_response = normalise_response_

    def uninstall() -> None:
        StateTaskServiceSfn._normalise_parameters = normalise_parameters
        StateTaskServiceSfn._normalise_response = normalise_response

    return uninstall


@functools.cache
def _operation(service: str, snake_action: str) -> Any:
    """botocore's model of `service`'s operation named `snake_action` (start_execution)."""
    import botocore.session
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    model = botocore.session.get_session().get_service_model(service)
    name = next(n for n in model.operation_names if camel_to_snake_case(n) == snake_action)
    return model.operation_model(name)
