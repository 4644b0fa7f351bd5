"""Step Functions' answers written by the compiled walk of cli/local/dynamodb_json.py.

moto writes every Step Functions answer by walking the botocore model and
asking a chain of alias lookups for each member: the CLI's ListExecutions poll
(every running execution of a state machine, five members each) cost about
3 ms of the server's CPU with 50 runs at once, and DescribeExecution,
StartExecution and GetExecutionHistory went the same way. The answers moto's
Step Functions code returns are plain dicts, lists, strings and datetimes: the
walk compiled once per operation writes the same JSON, timestamps converted by
moto's own code. Errors, and any answer the walk cannot copy exactly, still go
through moto's serializer (tests/aws/test_stepfunctions_answers.py sends one
session both ways).
"""

from __future__ import annotations

from collections.abc import Callable


def install() -> Callable[[], None]:
    """Patch moto's Step Functions responses; return the function that undoes it.

    Installed with the others by cli/local/moto_patches.py, which checks the moto version.
    """
    from itest.cli.local import dynamodb_json
    from moto.core.responses import ActionResult, EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    return dynamodb_json.install(StepFunctionResponse, (ActionResult, EmptyResult))
