"""moto's Step Functions hot path made cheap, found by profiling the local AWS (bench/profile.py).

- moto's Step Functions interpreter parses every JSONPath of every state each
  time it evaluates one, and jsonpath-ng builds a new parser (its yacc tables)
  per parse: about a tenth of the local AWS's CPU per scenario step. Parsed
  paths are immutable, so they are kept per path text. A path that only names
  fields (`$.Payload`, `$.a.b`, most of a definition's) is then found by
  walking the dicts, where jsonpath-ng builds a match object per step; a field
  missing or a value that is not a dict asks jsonpath-ng itself, so its
  answers and errors stay moto's.
- Every execution parsed its state machine's whole definition with ANTLR's
  Python runtime and built its program from the parse tree (moto's
  `Preprocessor`) before its first state: with 50 runs at once, over a
  quarter of the server's CPU. Both are kept per definition text, and every
  execution of a definition evaluates the same program. That is safe because
  moto's components keep nothing of an evaluation on themselves (moto 5.2.5
  read for it: no method of a component but its constructor and
  `from_state_props` assigns or mutates its attributes; an evaluation's values
  live in its `Environment`: stack, heap, states, frames; the pools, workers
  and records of Map and Parallel are made per evaluation; values a component
  holds, e.g. a Pass state's `Result`, are deep-copied before anything
  changes them), and moto itself already runs one item program in many
  threads for a Map. The one exception: a component draws its `heap_key` (the
  name its retriers' counters are kept under in an execution's heap) on first
  use, which two executions could race to do; it is drawn before the program
  is shared.

- moto's interpreter keeps every thread it starts (one per Task state, per
  execution, per Map) in a module-level list, `TMP_THREADS`, that nothing ever
  reads or empties: about 2 KB per thread for the life of the process, 700
  threads for 50 runs of 10 steps, and more for the garbage collector to scan.
  Its holders get a list that keeps nothing.
- moto evaluates every Task state in a new thread, only to stop waiting when the
  state's timeout passes. A Lambda task whose timeout cannot pass first (moto's
  default, 99999999 s) runs in its state's own thread: a thread start and two
  hand-overs fewer per step, about a tenth of the interpreter's CPU with 50 runs
  at once (bench/interpreter_cpu.py).
- moto evaluates every program (each Map iteration's too) in a new thread, only
  to stop waiting once the program's `TimeoutSeconds` passes. A program without
  one (a Map's item processor: ASL has no such field there) is waited for with
  no limit, so it runs in its caller's thread to the same end: a thread start
  and a join fewer per Map iteration, that is per scenario step.
- Every component's evaluation (about 45 a scenario step) asked the environment
  whether the program runs and called its debug log's method, which checks
  whether debug logging is on: both are read inline (`_lean_component_eval`).

(DynamoDB's: cli/local/dynamodb_fast.py.)
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any

from itest.cli.local.undo import Undo, in_reverse

PARSED_PATHS = 4096  # distinct JSONPaths kept parsed (a definition has a few dozen)
PARSED_DEFINITIONS = 64  # state machine definitions kept built (the orchestrator has two)
MOTO_ASL = "moto.stepfunctions.parser.asl."  # the modules of moto's interpreter
_LOG = logging.getLogger(__name__)


def install() -> Callable[[], None]:
    """Patch moto; return the function that undoes it.

    Installed with the others by cli/local/moto_patches.py, which checks the moto version.
    """
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    saved = {module: module.parse for module in (json_path, result_path)}
    result_path.parse = functools.lru_cache(maxsize=PARSED_PATHS)(result_path.parse)
    json_path.parse = functools.lru_cache(maxsize=PARSED_PATHS)(
        lambda path: FieldChain.of(saved[json_path](path))
    )
    undoes = [
        _definitions_parsed_once(),
        _threads_not_kept(),
        _lambda_tasks_inline(),
        _untimed_programs_inline(),
        _lean_component_eval(),
    ]

    def undo() -> None:
        in_reverse(undoes)()
        for module, parse in saved.items():
            module.parse = parse

    return undo


class FieldChain:
    """A parsed JSONPath that names fields only (`$.a.b`), found by walking dicts: what
    moto's `extract_json` reads of a match (its value, its path: a field, its context:
    not an array index) is what jsonpath-ng's own match would hold."""

    def __init__(self, expression: Any, names: tuple[str, ...]) -> None:
        from jsonpath_ng.jsonpath import Fields

        self.expression = expression
        self.names = names
        self.last = Fields(names[-1])

    @classmethod
    def of(cls, expression: Any) -> Any:
        """`expression` itself unless it is `$` then one field after another."""
        from jsonpath_ng.jsonpath import Child, Fields, Root

        names: list[str] = []
        inner = expression
        while type(inner) is Child and type(inner.right) is Fields:
            fields = inner.right.fields
            if len(fields) != 1 or fields[0] == "*":
                return expression
            names.append(fields[0])
            inner = inner.left
        if type(inner) is not Root or not names:
            return expression
        return cls(expression, tuple(reversed(names)))

    def find(self, data: Any) -> list[Any]:
        from jsonpath_ng.jsonpath import DatumInContext

        value = data
        for name in self.names:
            if type(value) is not dict or name not in value:
                return self.expression.find(data)  # jsonpath-ng's answer, none or another
            value = value[name]
        return [DatumInContext(value, path=self.last)]


def _definitions_parsed_once() -> Callable[[], None]:
    """`AmazonStateLanguageParser.parse`: the program and its parse tree kept per definition
    text. A definition that does not parse is not kept (its error is raised again, as moto
    raises it)."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original = AmazonStateLanguageParser.__dict__["parse"]

    @functools.lru_cache(maxsize=PARSED_DEFINITIONS)
    def parse(definition: str) -> tuple[Any, Any]:
        tree = original.__func__(definition)[1]
        program = Preprocessor().visit(tree)
        _name_components(program)
        return program, tree

    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]
    return lambda: setattr(AmazonStateLanguageParser, "parse", original)


def _name_components(program: Any) -> None:
    """Give every component of `program` its `heap_key` (the name its per-evaluation values
    are kept under in an execution's heap, which moto draws on first use) before the program
    is shared, so no two executions ever draw different names for one component."""
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    seen: set[int] = set()
    pending: list[Any] = [program]
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            pending.extend(value)
        elif type(value).__module__.startswith(MOTO_ASL):
            if isinstance(value, EvalComponent):
                value.heap_key  # noqa: B018  (drawn now, once)
            pending.extend(vars(value).values() if hasattr(value, "__dict__") else ())


class Unkept(list):  # type: ignore[type-arg]
    """A list that keeps nothing appended to it."""

    def append(self, item: Any) -> None:
        pass


def _threads_not_kept() -> Undo:
    """moto's `TMP_THREADS` replaced by an `Unkept` list in every module that holds it
    (those imported later take it from moto's `utils`, which holds it too)."""
    from moto.stepfunctions.parser import utils

    kept, unkept = utils.TMP_THREADS, Unkept()

    def holders(of: list[Any]) -> list[Any]:
        return [module for name, module in list(sys.modules.items())
                if name.startswith("moto.stepfunctions.") and
                getattr(module, "TMP_THREADS", None) is of]  # fmt: skip

    for module in holders(kept):
        module.TMP_THREADS = unkept

    def undo() -> None:
        for module in holders(unkept):
            module.TMP_THREADS = kept

    return undo


INLINE_TIMEOUT_FLOOR = 7200  # s: a Lambda task with a state timeout this long runs inline


def _lambda_tasks_inline() -> Undo:
    """A Lambda task's evaluation (no `.sync` or `.waitForTaskToken`) whose state timeout
    is a fixed one of at least `INLINE_TIMEOUT_FLOOR` (moto's default: 99999999 s) runs in
    the state's own thread rather than in a new one. moto starts that thread only to stop
    waiting once the state's timeout passes; an invocation on the local worker pool ends
    within twice its function's timeout (at most 900 s: a wait for a free worker, then
    the run), so such a timeout never passes first, and the state runs moto's own code
    to the same end (`_evaluate_inline`), less a thread's start and two hand-overs."""
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_lambda,
    )

    lambda_task = state_task_service_lambda.StateTaskServiceLambda
    state = execute_state.ExecutionState
    original = state.__dict__["_evaluate_with_timeout"]

    def evaluate(self: Any, env: Any) -> None:
        timeout = self.timeout
        if (
            type(self) is lambda_task
            and not self._is_integration_pattern()
            and type(timeout) is TimeoutSeconds
            and timeout.timeout_seconds >= INLINE_TIMEOUT_FLOOR
        ):
            _evaluate_inline(self, env, execute_state)
        else:
            original(self, env)

    evaluate.__wrapped__ = original  # type: ignore[attr-defined]  (moto's own)
    state._evaluate_with_timeout = evaluate
    return lambda: setattr(state, "_evaluate_with_timeout", original)


def _evaluate_inline(self: Any, env: Any, execute_state: Any) -> None:
    """moto's `ExecutionState._evaluate_with_timeout` (5.2.5) without its thread: the
    state's execution runs in a frame, its output or error comes back to the state. The
    frame's input is one copy of the state's input (moto copied a copy)."""
    self.timeout.eval(env=env)
    env.stack.pop()  # the timeout, which cannot pass first
    frame = env.open_frame()
    frame.states.reset(input_value=env.states._states_data["input"])
    frame.stack = execute_state.copy.deepcopy(env.stack)  # sfn_copy's, once installed
    execution_outputs: list[Any] = []
    execution_exception: Exception | None = None
    try:
        self._eval_execution(frame)
        execution_outputs.extend(frame.stack)
    except Exception as ex:
        execution_exception = ex
    frame.set_ended()
    env.close_frame(frame)
    if execution_exception:
        raise execution_exception
    execution_output = execution_outputs.pop()
    env.stack.append(execution_output)
    if not self._is_language_query_jsonpath():
        env.states.set_result(execution_output)
    if self.assign_decl:
        self.assign_decl.eval(env=env)
    if self.result_selector:
        self.result_selector.eval(env=env)
    if self.result_path:
        self.result_path.eval(env)
    else:
        env.states.reset(input_value=env.stack.pop())


def _untimed_programs_inline() -> Undo:
    """`Program.eval`: moto's, but a program without `TimeoutSeconds` is evaluated in the
    calling thread. moto's thread would be joined with no timeout, so the caller waited
    for it to end anyway; an error escaping the evaluation is logged, as the thread's
    end would have reported it, and the caller carries on."""
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.component.program.program import Program

    original = Program.__dict__["eval"]

    def evaluate(self: Any, env: Any) -> None:
        if self.timeout_seconds is not None:
            original(self, env)
            return
        env.next_state_name = self.start_at.start_at_name
        try:
            EvalComponent.eval(self, env)
        except Exception:
            _LOG.exception("a program evaluated in its caller's thread raised")

    evaluate.__wrapped__ = original  # type: ignore[attr-defined]  (moto's own)
    Program.eval = evaluate
    return lambda: setattr(Program, "eval", original)


def _lean_component_eval() -> Undo:
    """`EvalComponent.eval`: moto's, with `env.is_running()` and the debug log's check
    read inline (the debug line is still written when debug logging is on)."""
    from moto.stepfunctions.parser.asl.component import eval_component
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning

    component = eval_component.EvalComponent
    original = component.__dict__["eval"]
    debug_on = functools.partial(eval_component.LOG.isEnabledFor, logging.DEBUG)

    def evaluate(self: Any, env: Any) -> None:
        if not isinstance(env._program_state, ProgramRunning):  # env.is_running()
            if debug_on():
                self._log_evaluation_step("Pruning")
            return
        if debug_on():
            self._log_evaluation_step("Computing")
        try:
            field_name = self._field_name()
            if field_name is not None:
                env.next_field_name = field_name
            self._eval_body(env)
        except FailureEventException as failure_event_exception:
            self._log_failure_event_exception(failure_event_exception=failure_event_exception)
            raise
        except Exception as exception:
            self._log_exception(exception=exception)
            raise

    evaluate.__wrapped__ = original  # type: ignore[attr-defined]  (moto's own)
    component.eval = evaluate
    return lambda: setattr(component, "eval", original)
