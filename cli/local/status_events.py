"""Step Functions status-change events on the local AWS, delivered to Lambda targets.

moto's Step Functions never tells EventBridge that an execution ended, and
moto's EventBridge cannot deliver to a Lambda function (it raises
NotImplementedError). `install()` adds both, in the server's process: when an
execution ends, an ``aws.states`` "Step Functions Execution Status Change"
event goes to the default bus, and a rule's Lambda target is invoked
asynchronously (a thread per delivery, as EventBridge does not wait either),
retried twice on a function error like an asynchronous invocation.

It also keeps a stopped or timed-out execution so: moto's interpreter stopped
inside a Map iteration raises while unwinding, and that error used to turn
the ABORTED execution into FAILED (States.Runtime). On AWS the first end wins.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

DETAIL_TYPE = "Step Functions Execution Status Change"
ASYNC_ATTEMPTS = 3  # Lambda's asynchronous invocation: the first, then two retries


def install() -> Callable[[], None]:
    """Patch moto; return the function that undoes it."""
    from moto.events.models import Rule
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import (
        ProgramStopped,
        ProgramTimedOut,
    )
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    terminated = BaseExecutionWorkerCommunication.terminated
    send_to_targets = Rule.send_to_targets
    set_error = Environment.set_error

    def set_error_(self: Any, error: Any) -> None:
        if isinstance(self._program_state, ProgramStopped | ProgramTimedOut):
            return  # already ended; what unwinding raises changes nothing
        set_error(self, error)

    def terminated_(self: Any) -> None:
        terminated(self)
        try:
            _emit(self.execution)
        except Exception:  # an event lost must not break the execution's own end
            log.exception("could not emit the status change of %s", self.execution.exec_arn)

    def send_to_targets_(self: Any, event: dict[str, Any], transform_input: bool = True) -> None:
        lambdas = [t for t in self.targets if ":lambda:" in t["Arn"]]
        if lambdas and self.event_pattern.matches_event(event):
            for target in lambdas:
                _deliver(self.account_id, self.region_name, target["Arn"], event)
        others = [t for t in self.targets if t not in lambdas]
        if others:
            saved, self.targets = self.targets, others
            try:
                send_to_targets(self, event, transform_input)
            finally:
                self.targets = saved

    BaseExecutionWorkerCommunication.terminated = terminated_
    Rule.send_to_targets = send_to_targets_
    Environment.set_error = set_error_

    def uninstall() -> None:
        BaseExecutionWorkerCommunication.terminated = terminated
        Rule.send_to_targets = send_to_targets
        Environment.set_error = set_error

    return uninstall


def status_detail(execution: Any) -> dict[str, Any]:
    """The event's ``detail``, as Step Functions fills it."""

    def millis(moment: Any) -> int | None:
        return int(moment.timestamp() * 1000) if moment else None

    output = execution.output
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": execution.exec_status.value,
        "startDate": millis(execution.start_date),
        "stopDate": millis(execution.stop_date),
        "input": json.dumps(execution.input_data),
        "output": None if output is None else json.dumps(output),
        "error": execution.error,
        "cause": execution.cause,
    }


def _emit(execution: Any) -> None:
    from moto.events.models import events_backends

    if execution.exec_status is None or execution.exec_status.value == "RUNNING":
        return
    backend = events_backends[execution.account_id][execution.region_name]
    backend.put_events(
        [
            {
                "Source": "aws.states",
                "DetailType": DETAIL_TYPE,
                "Detail": json.dumps(status_detail(execution)),
                "Resources": [execution.exec_arn],
            }
        ]
    )


def _deliver(account_id: str, region: str, arn: str, event: dict[str, Any]) -> None:
    """Invoke the target function with the event, in the background."""

    def invoke() -> None:
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[account_id][region]
        for _ in range(ASYNC_ATTEMPTS):
            headers: dict[str, Any] = {}
            try:
                backend.invoke(arn, None, json.dumps(event, default=str), {}, headers)
            except Exception:
                log.exception("could not deliver an event to %s", arn)
                return
            if "x-amz-function-error" not in headers:
                return

    threading.Thread(target=invoke, name="itest-event-delivery", daemon=True).start()
