"""moto's Step Functions interpreter reads state values without copying them where it only reads.

moto copies a state's input every time it reads it (`States.get_input` is a deep copy),
also where what it does with the copy only reads it. With 50 runs at once the copies were
the interpreter's largest cost (bench/interpreter_cpu.py), and one of them grew with the
number of steps: each Map iteration copied the Map's whole input, the list of every step
included, to evaluate the `ItemSelector` that picks a few fields of it. These patches
read the value itself where moto's copy is only read, then dropped:

- a state's `InputPath`: moto put a copy of the input on the evaluation stack, under the
  copy its path then takes of what it selects, and left it there; that copy was read
  once, by the path, which only reads (it copies what it selects);
- a state's entered and exited history events carry its input and output as JSON
  text, which moto wrote from a copy; after a state ran, moto also copied its output to
  write it as JSON once more and count its bytes against the 256 KB quota, and copied
  the program state to ask whether it still runs. The text is written once, from the
  output itself, for the exited event and for the quota: a text of `n` bytes with
  compact separators is at most `2n` with moto's (one more byte per separator), so
  when `2n` is within the quota so is moto's count; otherwise moto's own check runs.
  The next state's entered event reuses that text when its input is the very value
  that was written (nothing changes a state's input between the two);
- a Map iteration's `ItemSelector` (or `Parameters`): moto set the Map's input as the
  iteration's input (a copy) and pushed the Map's input on the iteration's stack for the
  selector, which copies what it picks; the selection then replaced that input (copied
  again, as moto does). The Map's input is set uncopied while the selector runs, and
  taken off the stack after it.

- a Map's results: moto copied every iteration's output once more when the Map's
  iterations ended (each output was already a copy the iteration made of its state's
  input, held by nothing else once its job pool is done) to hand them to the Map state,
  whose `ResultPath` or `ResultSelector` copies what it keeps.

The stack entries moto left behind were never read again: every component reads the
stack's top, and moto clears the stack after each state; they were copied once more
with the stack for each Task. Each patched method is moto's own code but for the copies
named above (the original is its `__wrapped__`); installed with the others by
cli/local/moto_patches.py, which checks the moto version.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from itest.cli.local.undo import Undo, in_reverse


def install() -> Callable[[], None]:
    """Patch moto; return the function that undoes it."""
    return in_reverse(
        [
            _paths(),
            _entered_event(),
            _state_body(),
            _item_selector_input(),
            _closed_jobs(),
        ]
    )


def patched_methods() -> list[tuple[type, str]]:
    """The (class, method) pairs `install` replaces (each replacement's `__wrapped__` is
    moto's own), for a test to run moto as it comes."""
    from moto.stepfunctions.parser.asl.component.common.path.input_path import InputPath
    from moto.stepfunctions.parser.asl.component.common.path.output_path import OutputPath
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import job
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (  # noqa: E501
        inline_item_processor_worker as inline,
    )
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField

    return [
        (job.JobPool, "get_closed_jobs"),
        (InputPath, "_eval_body"),
        (OutputPath, "_eval_body"),
        (CommonStateField, "_get_state_entered_event_details"),
        (CommonStateField, "_eval_body"),
        (inline.InlineItemProcessorWorker, "_eval_input"),
    ]


def _replace(owner: type, name: str, patched: Callable[..., Any]) -> Undo:
    original = owner.__dict__[name]
    patched.__wrapped__ = original  # type: ignore[attr-defined]  (moto's own)
    setattr(owner, name, patched)
    return lambda: setattr(owner, name, original)


def _paths() -> Undo:
    """`InputPath._eval_body` and `OutputPath._eval_body`: moto's, but an input path reads
    the state's input itself (a path only reads, and copies what it selects), which then
    leaves the stack, and what an output path selected (a copy the path made, which
    nothing else holds) becomes the next state's input as it is, not copied again."""
    from moto.stepfunctions.parser.asl.component.common.path.input_path import InputPath
    from moto.stepfunctions.parser.asl.component.common.path.output_path import OutputPath
    from moto.stepfunctions.parser.asl.component.common.string.string_expression import (
        StringJsonPath,
    )
    from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

    input_path, output_path = InputPath.__dict__["_eval_body"], OutputPath.__dict__["_eval_body"]

    def sample(path: Any, env: Any) -> None:
        """What the path selects onto the stack; one that selects nothing fails as moto's."""
        try:
            path.string_sampler.eval(env=env)
        except NoSuchJsonPathError as no_such_json_path_error:
            json_path = no_such_json_path_error.json_path
            raise _runtime_failure(
                env, f"Invalid path '{json_path}' : No results for path: $['{json_path[2:]}']"
            ) from None

    def input_body(self: Any, env: Any) -> None:
        if not isinstance(self.string_sampler, StringJsonPath):
            input_path(self, env)
            return
        state_input = env.states._states_data["input"]
        stack = env.stack
        depth = len(stack)
        stack.append(state_input)
        try:
            sample(self, env)
        finally:
            if len(stack) > depth and stack[depth] is state_input:
                del stack[depth]

    def output_body(self: Any, env: Any) -> None:
        if not isinstance(self.string_sampler, StringJsonPath):
            output_path(self, env)
            return
        sample(self, env)
        states = env.states._states_data
        states["input"], states["result"], states["errorOutput"] = env.stack.pop(), None, None

    return in_reverse(
        [
            _replace(InputPath, "_eval_body", input_body),
            _replace(OutputPath, "_eval_body", output_body),
        ]
    )


def _runtime_failure(env: Any, cause: str) -> Exception:
    """The `States.Runtime` task failure moto raises for a path that selects nothing."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=StatesErrorNameType.StatesRuntime),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=StatesErrorNameType.StatesRuntime.to_name(), cause=cause
                )
            ),
        )
    )


OUTPUT_TEXT = "_itest_output_text"  # an Environment's last state output and its JSON text


def _input_text(env: Any) -> str:
    """The state's input as the compact JSON of its history events: the text the state
    before wrote of its output when the input is that very value, else written now."""
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    value = env.states._states_data["input"]
    written = env.__dict__.get(OUTPUT_TEXT)
    if written is not None and written[0] is value:
        return written[1]
    return to_json_str(value, separators=(",", ":"))


def _entered_event() -> Undo:
    """`CommonStateField._get_state_entered_event_details`: moto's, with the input's text
    from `_input_text` rather than written from a copy."""
    from moto.stepfunctions.parser.api import (
        HistoryEventExecutionDataDetails,
        StateEnteredEventDetails,
    )
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField

    def entered(self: Any, env: Any) -> Any:
        return StateEnteredEventDetails(
            name=self.name,
            input=_input_text(env),
            inputDetails=HistoryEventExecutionDataDetails(truncated=False),
        )

    return _replace(CommonStateField, "_get_state_entered_event_details", entered)


def _state_body() -> Undo:
    """`CommonStateField._eval_body` (every state's evaluation): moto's, but the program
    state's type is read from the value itself, and the output is written as JSON once,
    for the exited event, the size quota and the next state's entered event."""
    from moto.stepfunctions.parser.api import (
        HistoryEventExecutionDataDetails,
        StateExitedEventDetails,
    )
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning
    from moto.stepfunctions.parser.asl.eval.states import StateData
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
    from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError
    from moto.stepfunctions.parser.quotas import MAX_STATE_SIZE_UTF8_BYTES

    def eval_body(self: Any, env: Any) -> None:
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=self.state_entered_event_type,
            event_details=EventDetails(
                stateEnteredEventDetails=self._get_state_entered_event_details(env=env)
            ),
        )
        env.states.context_object.context_object_data["State"] = StateData(
            EnteredTime=datetime.datetime.now(tz=datetime.UTC).isoformat(),
            Name=self.name,
        )
        self._eval_state_input(env=env)
        try:
            self._eval_state(env)
        except NoSuchJsonPathError as no_such_json_path_error:
            data_json_str = to_json_str(no_such_json_path_error.data)
            cause = (
                f"The JSONPath '{no_such_json_path_error.json_path}' specified for the field "
                f"'{env.next_field_name}' could not be found in the input '{data_json_str}'"
            )
            raise _runtime_failure(env, cause) from None
        if not isinstance(env._program_state, ProgramRunning):  # moto: a copy's type
            return
        self._eval_state_output(env=env)
        output = env.states._states_data["input"]
        text = to_json_str(output, separators=(",", ":"))  # ASCII: a byte per character
        if 2 * len(text) >= MAX_STATE_SIZE_UTF8_BYTES:
            self._verify_size_quota(env=env, value=output)
        self._set_next(env)
        env.__dict__[OUTPUT_TEXT] = (output, text)
        if self.state_exited_event_type is not None:
            env.event_manager.add_event(
                context=env.event_history_context,
                event_type=self.state_exited_event_type,
                event_details=EventDetails(stateExitedEventDetails=_exited(self, env, text)),
            )

    def _exited(self: Any, env: Any, output_text: str) -> Any:
        """moto's `_get_state_exited_event_details`, given the output's text."""
        details = StateExitedEventDetails(
            name=self.name,
            output=output_text,
            outputDetails=HistoryEventExecutionDataDetails(truncated=False),
        )
        assigned_variables = env.variable_store.get_assigned_variables()
        env.variable_store.reset_tracing()
        if assigned_variables:
            details["assignedVariables"] = assigned_variables
            details["assignedVariablesDetails"] = {"truncated": False}
        return details

    return _replace(CommonStateField, "_eval_body", eval_body)


def _item_selector_input() -> Undo:
    """`InlineItemProcessorWorker._eval_input`: the Map's input is the iteration's input,
    uncopied, while its `ItemSelector` (or `Parameters`) runs, and leaves the stack after."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (  # noqa: E501
        inline_item_processor_worker as inline,
    )

    def eval_input(self: Any, env_frame: Any) -> None:
        if not self._parameters and not self._item_selector:
            return
        map_state_input = self._env.stack[-1]
        states = env_frame.states._states_data
        states["input"], states["result"], states["errorOutput"] = map_state_input, None, None
        stack = env_frame.stack
        depth = len(stack)
        stack.append(map_state_input)
        if self._item_selector:
            self._item_selector.eval(env_frame)
        elif self._parameters:
            self._parameters.eval(env_frame)
        output_value = stack[-1]
        env_frame.states.reset(input_value=output_value)
        del stack[depth:]

    return _replace(inline.InlineItemProcessorWorker, "_eval_input", eval_input)


def _closed_jobs() -> Undo:
    """`JobPool.get_closed_jobs`: the ended jobs in order, as moto's, not copied (the Map
    reads them once its jobs all ended; nothing else holds their outputs)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import job

    def get_closed_jobs(self: Any) -> list[Any]:
        with self._mutex:
            closed_jobs = list(self._closed_jobs)
        return sorted(closed_jobs, key=lambda closed_job: closed_job.job_index)

    return _replace(job.JobPool, "get_closed_jobs", get_closed_jobs)
